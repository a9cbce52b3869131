package dev.courier.cluster.raft;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import org.junit.jupiter.api.Test;

class EntryDedupTest {
    private final EntryDedup dedup = new EntryDedup();

    @Test
    void shouldKnowAnEntryAppliedBeforeAndAnswerItsReplies() {
        assertThat(dedup.applied(7, 1)).isFalse();
        dedup.record(7, 1, new byte[] {1});
        dedup.record(7, 2, new byte[] {2});

        assertThat(dedup.applied(7, 1)).isTrue();
        assertThat(dedup.applied(7, 2)).isTrue();
        assertThat(dedup.applied(7, 3)).isFalse();
        assertThat(dedup.applied(8, 1)).as("another proposer").isFalse();
        assertThat(dedup.replies(7, 1)).containsExactly(1);
        assertThat(dedup.replies(7, 2)).containsExactly(2);
    }

    @Test
    void shouldApplyAnEntryThatArrivesAfterLaterOnes() {
        // across a leader change a retried request may come after later ones
        dedup.record(7, 1, new byte[0]);
        dedup.record(7, 3, new byte[0]);
        assertThat(dedup.applied(7, 2))
                .as("not applied yet: a gap, not a duplicate")
                .isFalse();
        assertThat(dedup.applied(7, 3)).isTrue();
        dedup.record(7, 2, new byte[0]);
        assertThat(dedup.applied(7, 2)).isTrue();
        assertThat(dedup.applied(7, 4)).isFalse();
    }

    @Test
    void shouldCloseAGapThatStaysOpenTooLong() {
        dedup.record(7, 1, new byte[0]);
        for (long seq = 3; seq < 3 + EntryDedup.MAX_ABOVE; seq++) {
            dedup.record(7, seq, new byte[0]);
        }
        assertThat(dedup.applied(7, 2)).as("still open").isFalse();
        dedup.record(7, 3 + EntryDedup.MAX_ABOVE, new byte[0]);
        assertThat(dedup.applied(7, 2))
                .as("closed: too far behind to be in flight")
                .isTrue();
    }

    @Test
    void shouldNeverTrackOriginZero() {
        dedup.record(0, 5, new byte[0]);
        assertThat(dedup.applied(0, 1)).isFalse();
    }

    @Test
    void shouldKeepTheRepliesOfTheLastEntriesOnly() {
        for (int seq = 1; seq <= EntryDedup.REPLIES_PER_ORIGIN + 10; seq++) {
            dedup.record(7, seq, new byte[] {(byte) seq});
        }
        assertThat(dedup.applied(7, 1)).isTrue();
        assertThat(dedup.replies(7, 1)).as("too old to keep").isNull();
        assertThat(dedup.replies(7, EntryDedup.REPLIES_PER_ORIGIN + 10)).isNotNull();
    }

    @Test
    void shouldForgetTheOriginsLeastRecentlyHeardFrom() {
        for (long origin = 1; origin <= EntryDedup.MAX_ORIGINS + 1; origin++) {
            dedup.record(origin, 1, new byte[0]);
        }
        assertThat(dedup.applied(1, 1)).isFalse();
        assertThat(dedup.applied(EntryDedup.MAX_ORIGINS + 1, 1)).isTrue();
    }

    @Test
    void shouldCarryTheSequencesButNotTheRepliesInASnapshot() throws IOException {
        dedup.record(7, 1, new byte[] {1});
        dedup.record(7, 3, new byte[] {3});
        dedup.record(9, 1, new byte[] {1});
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        dedup.writeTo(new DataOutputStream(bytes));

        EntryDedup restored = new EntryDedup();
        restored.readFrom(new DataInputStream(new ByteArrayInputStream(bytes.toByteArray())));
        ByteArrayOutputStream again = new ByteArrayOutputStream();
        restored.writeTo(new DataOutputStream(again));
        assertThat(again.toByteArray()).as("replicas write equal bytes").isEqualTo(bytes.toByteArray());
        assertThat(restored.applied(7, 3)).isTrue();
        assertThat(restored.applied(7, 2)).as("the gap travels too").isFalse();
        assertThat(restored.applied(7, 4)).isFalse();
        assertThat(restored.applied(9, 1)).isTrue();
        assertThat(restored.replies(7, 3)).isNull();
    }
}
