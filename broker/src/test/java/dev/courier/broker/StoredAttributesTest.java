package dev.courier.broker;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class StoredAttributesTest {
    @Test
    void shouldRoundTripPriorityTtlFlagDeadlineAndHeaderLength() {
        long deadline = 3_755_376_000_123L; // 2089-01-01T00:00:00.123Z
        long attributes = StoredAttributes.of(200, true, deadline, 4_095);
        assertThat(StoredAttributes.isSet(attributes)).isTrue();
        assertThat(StoredAttributes.priority(attributes)).isEqualTo(200);
        assertThat(StoredAttributes.perMessageTtl(attributes)).isTrue();
        assertThat(StoredAttributes.expiresAtMs(attributes)).isEqualTo(deadline);
        assertThat(StoredAttributes.headerBytes(attributes)).isEqualTo(4_095);
    }

    @Test
    void shouldClampPriorityAndKeepNoDeadlineAsNever() {
        long attributes = StoredAttributes.of(1_000, false, 0, 40);
        assertThat(StoredAttributes.priority(attributes)).isEqualTo(255);
        assertThat(StoredAttributes.perMessageTtl(attributes)).isFalse();
        assertThat(StoredAttributes.expiresAtMs(attributes)).isZero();
        assertThat(StoredAttributes.priority(StoredAttributes.of(-3, false, 0, 40)))
                .isZero();
    }

    @Test
    void shouldLeaveUnknownWhatDoesNotFitSoThatRecoveryReadsTheMessage() {
        assertThat(StoredAttributes.of(0, false, 0, 4_096)).isZero(); // header too long
        assertThat(StoredAttributes.of(0, true, -1, 40)).isZero(); // queues disagree on the deadline
        assertThat(StoredAttributes.of(0, true, 1_000, 40)).isZero(); // before 2020
        assertThat(StoredAttributes.of(0, true, StoredAttributes.EPOCH_MS + (1L << 41), 40))
                .isZero(); // after 2089
        assertThat(StoredAttributes.isLarge(StoredAttributes.of(0, true, StoredAttributes.EPOCH_MS + (1L << 41), 40)))
                .isFalse();
        assertThat(StoredAttributes.isSet(0)).isFalse();
    }

    @Test
    void shouldKeepTheLargeFlagApartFromEveryOtherValue() {
        long deadline = StoredAttributes.EPOCH_MS + (1L << 41) - 1;
        long attributes = StoredAttributes.of(255, true, deadline, 4_095) | StoredAttributes.LARGE;
        assertThat(StoredAttributes.isLarge(attributes)).isTrue();
        assertThat(StoredAttributes.expiresAtMs(attributes)).isEqualTo(deadline);
        assertThat(StoredAttributes.priority(attributes)).isEqualTo(255);
        assertThat(StoredAttributes.headerBytes(attributes)).isEqualTo(4_095);
        assertThat(StoredAttributes.isLarge(StoredAttributes.of(255, true, deadline, 4_095)))
                .isFalse();
        assertThat(StoredAttributes.isSet(StoredAttributes.LARGE)).isFalse(); // unknown, but large
    }
}
