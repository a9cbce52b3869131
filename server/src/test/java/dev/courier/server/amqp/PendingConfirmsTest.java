package dev.courier.server.amqp;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class PendingConfirmsTest {
    private final List<String> written = new ArrayList<>();
    private final PendingConfirms.Sink sink = new PendingConfirms.Sink() {
        @Override
        public void ack(long deliveryTag, boolean multiple) {
            written.add("ack " + deliveryTag + (multiple ? " multiple" : ""));
        }

        @Override
        public void nack(long deliveryTag, boolean multiple) {
            written.add("nack " + deliveryTag);
        }
    };

    @Test
    void shouldAckTheSettledPrefixWithOneMultipleAck() {
        PendingConfirms confirms = new PendingConfirms();
        for (int i = 0; i < 5; i++) {
            confirms.next();
        }
        confirms.settle(2);
        confirms.settle(1);
        confirms.settle(4);
        confirms.drain(sink);
        assertThat(written).containsExactly("ack 2 multiple");
        confirms.settle(3);
        confirms.drain(sink);
        assertThat(written).containsExactly("ack 2 multiple", "ack 4 multiple");
        confirms.settle(5);
        confirms.drain(sink);
        assertThat(written).endsWith("ack 5");
        assertThat(confirms.hasWork()).isFalse();
    }

    @Test
    void shouldNackRefusedMessagesOneByOneBeforeTheAck() {
        PendingConfirms confirms = new PendingConfirms();
        confirms.next();
        confirms.next();
        confirms.next();
        confirms.settle(1);
        confirms.reject(2);
        confirms.settle(3);
        confirms.drain(sink);
        assertThat(written).containsExactly("nack 2", "ack 3 multiple");
    }

    @Test
    void shouldGrowPastItsInitialCapacityWithoutLosingState() {
        PendingConfirms confirms = new PendingConfirms();
        for (int i = 0; i < 10_000; i++) {
            confirms.next();
        }
        for (long seq = 10_000; seq >= 2; seq--) {
            confirms.settle(seq);
        }
        confirms.drain(sink);
        assertThat(written).isEmpty();
        confirms.settle(1);
        confirms.drain(sink);
        assertThat(written).containsExactly("ack 10000 multiple");
    }
}
