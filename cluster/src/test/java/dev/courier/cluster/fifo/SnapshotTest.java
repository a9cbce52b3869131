package dev.courier.cluster.fifo;

import static dev.courier.cluster.fifo.QueueHarness.NODE;
import static dev.courier.cluster.fifo.QueueHarness.Q;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import org.junit.jupiter.api.Test;

/** Snapshots keep every part of the state and refuse what is not one of theirs. */
class SnapshotTest {
    @Test
    void shouldRestoreMessagesConsumersAndCounters() throws IOException {
        QueueHarness h = new QueueHarness(QueueSettings.defaults()
                .withMaxPriority(3)
                .withMessageTtlMs(10_000)
                .withDedup(5_000, 10)
                .withDeadLetterExchange(true));
        h.apply(new Command.DeclareQueue("other", QueueSettings.defaults()));
        h.consume("c1", 2);
        h.publish("a", 1, -1);
        h.publish("b", 3, 50);
        h.publish("c", 2, -1);
        h.requeue("c1", 1);
        h.apply(new Command.Get(Q, "getter", NODE, false));
        h.apply(new Command.Enqueue(Q, "p1", 7, "key", 0, -1, QueueHarness.bytes("d")));

        QueueGroupState restored = Snapshots.restore(Snapshots.bytes(h.state));

        assertThat(restored.queueNames()).containsExactly("other", Q);
        assertThat(restored.queue(Q)).isEqualTo(h.view());
        assertThat(restored.stats(Q)).isEqualTo(h.stats());
        assertThat(restored.consumers(Q)).isEqualTo(h.state.consumers(Q));
        assertThat(restored.lastAppliedIndex()).isEqualTo(h.index);
        Effects effects = new Effects();
        Command.Enqueue retry = new Command.Enqueue(Q, "p1", 7, "key", 0, -1, QueueHarness.bytes("d"));
        assertThat(restored.apply(h.index + 1, h.timeMs, retry, effects))
                .isEqualTo(new Reply.Enqueued(Reply.EnqueueOutcome.DUPLICATE));
    }

    @Test
    void shouldRefuseBytesThatAreNotASnapshot() {
        assertThatThrownBy(() -> Snapshots.restore(new byte[] {1, 2, 3, 4, 0, 0, 0, 1}))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("not a queue group snapshot");
    }

    @Test
    void shouldRefuseAnUnknownVersion() throws IOException {
        byte[] snapshot = Snapshots.bytes(new QueueGroupState());
        snapshot[7] = 9;
        assertThatThrownBy(() -> Snapshots.restore(snapshot))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("version 9");
    }
}
