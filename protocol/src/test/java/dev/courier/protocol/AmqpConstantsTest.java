package dev.courier.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Close texts always fit a short string, cut on a character boundary. */
class AmqpConstantsTest {
    @Test
    void shouldKeepAShortCloseTextWhole() {
        assertThat(AmqpConstants.closeText(404, "no queue 'q' in vhost '/'"))
                .isEqualTo("NOT_FOUND - no queue 'q' in vhost '/'");
    }

    @Test
    void shouldCutALongCloseTextTo255Bytes() {
        String text = AmqpConstants.closeText(404, "no queue '" + "q".repeat(255) + "' in vhost '/'");

        assertThat(text).startsWith("NOT_FOUND - no queue 'qqq");
        assertThat(text.getBytes(StandardCharsets.UTF_8)).hasSize(255);
    }

    @Test
    void shouldNotCutThroughAMultiByteCharacter() {
        // "NOT_FOUND - " is 12 bytes; then 3-byte and 4-byte characters that do not end at byte 255
        String detail = "€".repeat(80) + "😀".repeat(10);

        String text = AmqpConstants.closeText(404, detail);

        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        assertThat(bytes.length).isLessThanOrEqualTo(255).isGreaterThan(250);
        assertThat(new String(bytes, StandardCharsets.UTF_8)).isEqualTo(text);
        assertThat(text).doesNotContain("\uFFFD").startsWith("NOT_FOUND - €€");
        assertThat(Character.isHighSurrogate(text.charAt(text.length() - 1))).isFalse();
    }
}
