package dev.courier.cluster.raft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.Size;

class EntryCodecTest {

    @Property(tries = 200)
    void shouldRoundTripEntries(@ForAll long timeMs, @ForAll @Size(max = 20) List<@Size(max = 40) byte[]> commands) {
        EntryCodec.Entry decoded = EntryCodec.decodeEntry(ByteBuffer.wrap(EntryCodec.encodeEntry(timeMs, commands)));
        assertThat(decoded.timeMs()).isEqualTo(timeMs);
        assertThat(decoded.commands()).containsExactlyElementsOf(commands);
    }

    @Property(tries = 200)
    void shouldRoundTripRepliesAndFailures(
            @ForAll @Size(max = 20) List<@Size(max = 40) byte[]> replies, @ForAll String error) {
        List<EntryCodec.Outcome> outcomes = new ArrayList<>();
        for (int i = 0; i < replies.size(); i++) {
            outcomes.add(i % 3 == 2 ? EntryCodec.Outcome.failed(error) : new EntryCodec.Outcome(replies.get(i), null));
        }
        List<EntryCodec.Outcome> decoded =
                EntryCodec.decodeReplies(ByteBuffer.wrap(EntryCodec.encodeReplies(outcomes)));
        assertThat(decoded).hasSize(outcomes.size());
        for (int i = 0; i < outcomes.size(); i++) {
            assertThat(decoded.get(i).error()).isEqualTo(outcomes.get(i).error());
            if (outcomes.get(i).error() == null) {
                assertThat(decoded.get(i).reply()).isEqualTo(outcomes.get(i).reply());
            }
        }
    }

    @org.junit.jupiter.api.Test
    void shouldRejectTruncatedEntries() {
        byte[] entry = EntryCodec.encodeEntry(1, List.of(new byte[] {1, 2, 3}));
        ByteBuffer truncated = ByteBuffer.wrap(entry, 0, entry.length - 1);
        assertThatThrownBy(() -> EntryCodec.decodeEntry(truncated)).isInstanceOf(IllegalArgumentException.class);
    }
}
