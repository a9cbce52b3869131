package dev.courier.cluster.fifo;

import static dev.courier.cluster.fifo.QueueHarness.NODE;
import static dev.courier.cluster.fifo.QueueHarness.Q;
import static org.assertj.core.api.Assertions.assertThat;

import dev.courier.cluster.fifo.Reply.EnqueueOutcome;
import org.junit.jupiter.api.Test;

/** How messages leave other than by ack: delivery limit, reject, TTL, max-length, purge, delete; priorities. */
class MessageLifecycleTest {
    @Test
    void shouldDeadLetterAMessageReturnedMoreOftenThanTheDeliveryLimit() {
        QueueHarness h =
                new QueueHarness(QueueSettings.defaults().withDeliveryLimit(1).withDeadLetterExchange(true));
        h.consume("c1", 0);
        h.publish("a");
        h.requeue("c1", 1);
        assertThat(h.deliveries()).singleElement().satisfies(d -> {
            assertThat(d.redelivered()).isTrue();
            assertThat(d.deliveryCount()).isEqualTo(1);
        });

        h.requeue("c1", 1);

        assertThat(h.deadLettered()).containsExactly("a:delivery_limit");
        assertThat(((Effect.DeadLettered) h.effects.list().get(0)).deliveryCount())
                .isEqualTo(2);
        assertThat(h.view().readyCount()).isZero();
        assertThat(h.view().unackedCount()).isZero();
        assertThat(h.stats().deadLettered()).isEqualTo(1);
    }

    @Test
    void shouldDropWithoutAnEffectAtTheDeliveryLimitWhenThereIsNoDeadLetterExchange() {
        QueueHarness h = new QueueHarness(QueueSettings.defaults().withDeliveryLimit(0));
        h.consume("c1", 0);
        h.publish("a");
        h.cancel("c1");
        assertThat(h.effects.isEmpty()).isTrue();
        assertThat(h.view().readyCount()).isZero();
        assertThat(h.stats().dropped()).isEqualTo(1);
        assertThat(h.stats().deadLettered()).isZero();
    }

    @Test
    void shouldNeverDiscardWithoutADeliveryLimit() {
        QueueHarness h = new QueueHarness(QueueSettings.defaults().withDeliveryLimit(-1));
        h.consume("c1", 0);
        h.publish("a");
        for (int i = 0; i < 50; i++) {
            h.requeue("c1", 1);
        }
        assertThat(h.deliveries())
                .singleElement()
                .extracting(Effect.Deliver::deliveryCount)
                .isEqualTo(50);
    }

    @Test
    void shouldDeadLetterDiscardedMessagesAsRejected() {
        QueueHarness h = new QueueHarness(QueueSettings.defaults().withDeadLetterExchange(true));
        h.consume("c1", 0);
        h.publish("a");
        h.publish("b");
        h.apply(new Command.Discard(Q, "c1", new long[] {2, 1, 7}));
        assertThat(h.deadLettered()).containsExactly("b:rejected", "a:rejected");
        assertThat(h.view().unackedCount()).isZero();
    }

    @Test
    void shouldExpireMessagesByQueueTtlOnTick() {
        QueueHarness h =
                new QueueHarness(QueueSettings.defaults().withMessageTtlMs(100).withDeadLetterExchange(true));
        h.publish("a");
        h.advance(50).publish("b");
        h.advance(49).apply(new Command.Tick());
        assertThat(h.effects.isEmpty()).isTrue();

        h.advance(1).apply(new Command.Tick());
        assertThat(h.deadLettered()).containsExactly("a:expired");
        h.advance(50).apply(new Command.Tick());
        assertThat(h.deadLettered()).containsExactly("b:expired");
        assertThat(h.stats().expired()).isEqualTo(2);
        assertThat(h.view().readyBytes()).isZero();
    }

    @Test
    void shouldExpireMessagesBehindTheHeadUsingTheShorterOfMessageAndQueueTtl() {
        QueueHarness h = new QueueHarness(
                QueueSettings.defaults().withMessageTtlMs(1_000).withDeadLetterExchange(true));
        h.publish("long");
        h.publish("short", 0, 10);
        h.publish("none-set-beyond-queue", 0, 5_000);
        h.advance(10).apply(new Command.Tick());
        assertThat(h.deadLettered()).containsExactly("short:expired");
        assertThat(h.view().readyCount()).isEqualTo(2);

        h.advance(990).apply(new Command.Tick());
        assertThat(h.deadLettered()).containsExactly("long:expired", "none-set-beyond-queue:expired");
    }

    @Test
    void shouldNotDeliverAMessageThatExpiredBeforeATick() {
        QueueHarness h = new QueueHarness(QueueSettings.defaults());
        h.publish("old", 0, 10);
        h.publish("fresh");
        h.advance(11).consume("c1", 0);
        assertThat(h.delivered()).containsExactly("c1:fresh");
        assertThat(h.stats().expired()).isEqualTo(1);
    }

    @Test
    void shouldExpireAZeroTtlMessageUnlessAConsumerTakesItAtOnce() {
        QueueHarness h = new QueueHarness(QueueSettings.defaults().withDeadLetterExchange(true));
        h.publish("nobody", 0, 0);
        assertThat(h.deadLettered()).containsExactly("nobody:expired");
        h.consume("c1", 0);
        h.publish("taken", 0, 0);
        assertThat(h.delivered()).containsExactly("c1:taken");
    }

    @Test
    void shouldNotExpireUnackedMessagesButExpireThemOnceReturned() {
        QueueHarness h = new QueueHarness(QueueSettings.defaults().withMessageTtlMs(100));
        h.consume("c1", 0);
        h.publish("a");
        h.advance(200).apply(new Command.Tick());
        assertThat(h.view().unackedCount()).isEqualTo(1);

        h.apply(new Command.Checkout(Q, "c1", NODE, 1, false, 0));
        h.requeue("c1", 1);
        assertThat(h.delivered()).isEmpty();
        assertThat(h.stats().expired()).isEqualTo(1);
    }

    @Test
    void shouldDropTheHeadPastMaxLength() {
        QueueHarness h = new QueueHarness(QueueSettings.defaults()
                .withMaxLength(2, -1, Overflow.DROP_HEAD)
                .withDeadLetterExchange(true));
        h.publish("a");
        h.publish("b");
        assertThat(h.publish("c")).isEqualTo(EnqueueOutcome.ACCEPTED);
        assertThat(h.deadLettered()).containsExactly("a:maxlen");
        h.consume("c1", 0);
        assertThat(h.delivered()).containsExactly("c1:b", "c1:c");
    }

    @Test
    void shouldDropTheHeadPastMaxLengthBytes() {
        QueueHarness h = new QueueHarness(QueueSettings.defaults().withMaxLength(-1, 5, Overflow.DROP_HEAD));
        h.publish("aa");
        h.publish("bb");
        h.publish("cccc");
        assertThat(h.view().readyCount()).isEqualTo(1);
        assertThat(h.view().readyBytes()).isEqualTo(4);
        assertThat(h.stats().dropped()).isEqualTo(2);
    }

    @Test
    void shouldCountOnlyReadyMessagesAgainstMaxLength() {
        QueueHarness h = new QueueHarness(QueueSettings.defaults().withMaxLength(1, -1, Overflow.REJECT_PUBLISH));
        h.consume("c1", 1);
        assertThat(h.publish("a")).isEqualTo(EnqueueOutcome.ACCEPTED);
        assertThat(h.publish("b")).isEqualTo(EnqueueOutcome.ACCEPTED);
        assertThat(h.publish("c")).isEqualTo(EnqueueOutcome.REJECTED);
        assertThat(h.view().readyCount()).isEqualTo(1);
        assertThat(h.view().unackedCount()).isEqualTo(1);
        assertThat(h.stats().rejected()).isEqualTo(1);
    }

    @Test
    void shouldRejectPublishWhenFullAndDeadLetterItWithRejectPublishDlx() {
        QueueHarness plain = new QueueHarness(QueueSettings.defaults().withMaxLength(1, -1, Overflow.REJECT_PUBLISH));
        plain.publish("a");
        assertThat(plain.publish("b")).isEqualTo(EnqueueOutcome.REJECTED);
        assertThat(plain.effects.isEmpty()).isTrue();

        QueueHarness dlx = new QueueHarness(QueueSettings.defaults()
                .withMaxLength(1, -1, Overflow.REJECT_PUBLISH_DLX)
                .withDeadLetterExchange(true));
        dlx.publish("a");
        assertThat(dlx.publish("b")).isEqualTo(EnqueueOutcome.REJECTED);
        assertThat(dlx.deadLettered()).containsExactly("b:maxlen");
        assertThat(dlx.view().readyCount()).isEqualTo(1);
    }

    @Test
    void shouldAcceptARejectedPublishersRetryOnceThereIsRoom() {
        QueueHarness h = new QueueHarness(QueueSettings.defaults().withMaxLength(1, -1, Overflow.REJECT_PUBLISH));
        h.publish("a");
        Command.Enqueue b = new Command.Enqueue(Q, "p1", 1, null, 0, -1, QueueHarness.bytes("b"));
        assertThat(h.apply(b)).isEqualTo(new Reply.Enqueued(EnqueueOutcome.REJECTED));
        h.apply(new Command.Purge(Q));
        assertThat(h.apply(b)).isEqualTo(new Reply.Enqueued(EnqueueOutcome.ACCEPTED));
    }

    @Test
    void shouldPurgeReadyMessagesOnly() {
        QueueHarness h = new QueueHarness(QueueSettings.defaults().withMessageTtlMs(100));
        h.consume("c1", 1);
        h.publish("a");
        h.publish("b");
        h.publish("c");
        assertThat(h.apply(new Command.Purge(Q))).isEqualTo(new Reply.Count(2));
        assertThat(h.view().readyCount()).isZero();
        assertThat(h.view().readyBytes()).isZero();
        assertThat(h.view().unackedCount()).isEqualTo(1);
        h.advance(500).apply(new Command.Tick());
        assertThat(h.stats().expired()).isZero();
    }

    @Test
    void shouldCancelConsumersAndDropMessagesOnDelete() {
        QueueHarness h = new QueueHarness(QueueSettings.defaults());
        h.consume("c1", 1);
        h.apply(new Command.Checkout(Q, "c2", "n2", 1, false, 0));
        h.apply(new Command.Get(Q, "getter", NODE, false));
        h.publish("a");
        h.publish("b");
        h.publish("c");

        assertThat(h.apply(new Command.DeleteQueue(Q))).isEqualTo(new Reply.Count(3));

        assertThat(h.effects.list())
                .containsExactly(
                        new Effect.ConsumerCancelled(Q, "c1", NODE), new Effect.ConsumerCancelled(Q, "c2", "n2"));
        assertThat(h.view()).isNull();
        assertThat(h.state.queueNames()).isEmpty();
        assertThat(h.apply(new Command.Enqueue(Q, null, 0, null, 0, -1, new byte[1])))
                .isEqualTo(new Reply.NoSuchQueue(Q));
    }

    @Test
    void shouldDeliverHigherPrioritiesFirstAndFifoWithinALevel() {
        QueueHarness h = new QueueHarness(QueueSettings.defaults().withMaxPriority(5));
        h.publish("p0-a", 0, -1);
        h.publish("p9-a", 9, -1);
        h.publish("p3-a", 3, -1);
        h.publish("p5-a", 5, -1);
        h.publish("p3-b", 3, -1);
        h.publish("p0-b", 0, -1);
        h.consume("c1", 0);
        assertThat(h.delivered()).containsExactly("c1:p9-a", "c1:p5-a", "c1:p3-a", "c1:p3-b", "c1:p0-a", "c1:p0-b");
    }

    @Test
    void shouldIgnorePriorityWithoutMaxPriority() {
        QueueHarness h = new QueueHarness(QueueSettings.defaults());
        h.publish("a", 0, -1);
        h.publish("b", 200, -1);
        h.publish("c", 3, -1);
        h.consume("c1", 0);
        assertThat(h.delivered()).containsExactly("c1:a", "c1:b", "c1:c");
    }

    @Test
    void shouldUseAll256LevelsWithMaxPriority255() {
        QueueHarness h = new QueueHarness(QueueSettings.defaults().withMaxPriority(255));
        h.publish("1", 1, -1);
        h.publish("255", 255, -1);
        h.publish("64", 64, -1);
        h.publish("63", 63, -1);
        h.consume("c1", 0);
        assertThat(h.delivered()).containsExactly("c1:255", "c1:64", "c1:63", "c1:1");
    }
}
