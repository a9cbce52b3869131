package dev.courier.cluster.fifo;

import static dev.courier.cluster.fifo.QueueHarness.Q;
import static dev.courier.cluster.fifo.QueueHarness.bytes;
import static org.assertj.core.api.Assertions.assertThat;

import dev.courier.cluster.fifo.Reply.EnqueueOutcome;
import org.junit.jupiter.api.Test;

/** Duplicate publishes: publisher sequence numbers (leader-change retries) and the dedup-key window. */
class EnqueueDedupTest {
    private static Command.Enqueue publish(String publisher, long seq, String dedupKey) {
        return new Command.Enqueue(Q, publisher, seq, dedupKey, 0, -1, bytes(publisher + seq));
    }

    private static EnqueueOutcome outcome(QueueHarness h, Command command) {
        return ((Reply.Enqueued) h.apply(command)).outcome();
    }

    @Test
    void shouldAnswerDuplicateForASequenceNumberAlreadyApplied() {
        QueueHarness h = new QueueHarness(QueueSettings.defaults());
        assertThat(outcome(h, publish("p1", 1, null))).isEqualTo(EnqueueOutcome.ACCEPTED);
        assertThat(outcome(h, publish("p1", 2, null))).isEqualTo(EnqueueOutcome.ACCEPTED);
        assertThat(outcome(h, publish("p1", 2, null))).isEqualTo(EnqueueOutcome.DUPLICATE);
        assertThat(outcome(h, publish("p1", 1, null))).isEqualTo(EnqueueOutcome.DUPLICATE);
        assertThat(outcome(h, publish("p2", 1, null))).isEqualTo(EnqueueOutcome.ACCEPTED);
        assertThat(h.view().readyCount()).isEqualTo(3);
        assertThat(h.stats().deduplicated()).isEqualTo(2);
        assertThat(h.stats().published()).isEqualTo(3);
    }

    @Test
    void shouldTrackSequencesPerQueue() {
        QueueHarness h = new QueueHarness(QueueSettings.defaults());
        h.apply(new Command.DeclareQueue("other", QueueSettings.defaults()));
        h.apply(publish("p1", 5, null));
        Command.Enqueue sameSeqOtherQueue = new Command.Enqueue("other", "p1", 5, null, 0, -1, bytes("x"));
        assertThat(outcome(h, sameSeqOtherQueue)).isEqualTo(EnqueueOutcome.ACCEPTED);
    }

    @Test
    void shouldNotTrackAnonymousPublishers() {
        QueueHarness h = new QueueHarness(QueueSettings.defaults());
        assertThat(outcome(h, publish(null, 1, null))).isEqualTo(EnqueueOutcome.ACCEPTED);
        assertThat(outcome(h, publish(null, 1, null))).isEqualTo(EnqueueOutcome.ACCEPTED);
    }

    @Test
    void shouldForgetTheLeastRecentlySeenPublisherPastTheBound() {
        QueueHarness h = new QueueHarness(QueueSettings.defaults());
        h.apply(publish("p-first", 1, null));
        for (int i = 0; i < PublisherTracker.MAX_PUBLISHERS - 1; i++) {
            h.apply(publish("p" + i, 1, null));
        }
        assertThat(outcome(h, publish("p-first", 1, null))).isEqualTo(EnqueueOutcome.DUPLICATE);
        h.apply(publish("p-newcomer", 1, null));
        // p-first was refreshed by its duplicate, so p0 is now the least recently seen.
        assertThat(outcome(h, publish("p-first", 1, null))).isEqualTo(EnqueueOutcome.DUPLICATE);
        assertThat(outcome(h, publish("p0", 1, null))).isEqualTo(EnqueueOutcome.ACCEPTED);
    }

    @Test
    void shouldForgetPublishersIdleForLongOnTick() {
        QueueHarness h = new QueueHarness(QueueSettings.defaults());
        h.apply(publish("p1", 1, null));
        h.advance(PublisherTracker.IDLE_FORGET_MS - 1).apply(new Command.Tick());
        assertThat(outcome(h, publish("p1", 1, null))).isEqualTo(EnqueueOutcome.DUPLICATE);
        h.advance(PublisherTracker.IDLE_FORGET_MS).apply(new Command.Tick());
        assertThat(outcome(h, publish("p1", 1, null))).isEqualTo(EnqueueOutcome.ACCEPTED);
    }

    @Test
    void shouldDropARepeatedDedupKeyWithinTheWindowOnly() {
        QueueHarness h = new QueueHarness(QueueSettings.defaults().withDedup(1_000, 0));
        assertThat(outcome(h, publish("p1", 1, "id-1"))).isEqualTo(EnqueueOutcome.ACCEPTED);
        h.advance(999);
        assertThat(outcome(h, publish("p1", 2, "id-1"))).isEqualTo(EnqueueOutcome.DUPLICATE);
        assertThat(outcome(h, publish("p1", 2, null))).isEqualTo(EnqueueOutcome.DUPLICATE);
        h.advance(1);
        assertThat(outcome(h, publish("p1", 3, "id-1"))).isEqualTo(EnqueueOutcome.ACCEPTED);
        assertThat(h.view().readyCount()).isEqualTo(2);
    }

    @Test
    void shouldIgnoreDedupKeysWhenDedupIsOff() {
        QueueHarness h = new QueueHarness(QueueSettings.defaults());
        assertThat(outcome(h, publish("p1", 1, "id-1"))).isEqualTo(EnqueueOutcome.ACCEPTED);
        assertThat(outcome(h, publish("p1", 2, "id-1"))).isEqualTo(EnqueueOutcome.ACCEPTED);
    }

    @Test
    void shouldForgetTheOldestKeysPastMaxKeys() {
        QueueHarness h = new QueueHarness(QueueSettings.defaults().withDedup(60_000, 2));
        h.apply(publish("p1", 1, "a"));
        h.apply(publish("p1", 2, "b"));
        h.apply(publish("p1", 3, "c"));
        assertThat(outcome(h, publish("p1", 4, "b"))).isEqualTo(EnqueueOutcome.DUPLICATE);
        assertThat(outcome(h, publish("p1", 5, "a"))).isEqualTo(EnqueueOutcome.ACCEPTED);
    }

    @Test
    void shouldForgetKeysOlderThanTheWindowOnTick() throws Exception {
        QueueHarness h = new QueueHarness(QueueSettings.defaults().withDedup(1_000, 0));
        h.apply(publish("p1", 1, "a"));
        h.advance(500).apply(publish("p1", 2, "b"));
        int before = Snapshots.bytes(h.state).length;
        h.advance(600).apply(new Command.Tick());
        assertThat(Snapshots.bytes(h.state).length).isLessThan(before);
        assertThat(outcome(h, publish("p1", 3, "b"))).isEqualTo(EnqueueOutcome.DUPLICATE);
        assertThat(outcome(h, publish("p1", 4, "a"))).isEqualTo(EnqueueOutcome.ACCEPTED);
    }

    @Test
    void shouldNotRememberTheKeyOfARejectedPublish() {
        QueueHarness h = new QueueHarness(
                QueueSettings.defaults().withDedup(1_000, 0).withMaxLength(1, -1, Overflow.REJECT_PUBLISH));
        h.apply(publish("p1", 1, "a"));
        assertThat(outcome(h, publish("p1", 2, "b"))).isEqualTo(EnqueueOutcome.REJECTED);
        h.apply(new Command.Purge(Q));
        assertThat(outcome(h, publish("p1", 2, "b"))).isEqualTo(EnqueueOutcome.ACCEPTED);
    }
}
