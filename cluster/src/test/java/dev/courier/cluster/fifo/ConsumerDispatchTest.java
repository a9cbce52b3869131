package dev.courier.cluster.fifo;

import static dev.courier.cluster.fifo.QueueHarness.NODE;
import static dev.courier.cluster.fifo.QueueHarness.Q;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Who gets which message: prefetch, auto-ack, round-robin, priorities, single active consumer, get. */
class ConsumerDispatchTest {
    private final QueueHarness h = new QueueHarness(QueueSettings.defaults());

    @Test
    void shouldStopAtPrefetchAndRefillCreditOnSettle() {
        h.consume("c1", 2);
        h.publish("a");
        h.publish("b");
        h.publish("c");
        assertThat(h.unackedIds("c1")).containsExactly(1L, 2L);
        assertThat(h.view().readyCount()).isEqualTo(1);
        assertThat(h.view().unackedCount()).isEqualTo(2);

        h.settle("c1", 1);

        assertThat(h.delivered()).containsExactly("c1:c");
        assertThat(h.unackedIds("c1")).containsExactly(2L, 3L);
        assertThat(h.stats().acked()).isEqualTo(1);
    }

    @Test
    void shouldDeliverEverythingToAnUnlimitedConsumerAtCheckout() {
        h.publish("a");
        h.publish("b");
        h.consume("c1", 0);
        assertThat(h.delivered()).containsExactly("c1:a", "c1:b");
    }

    @Test
    void shouldSettleOnDeliveryForAutoAckConsumers() {
        h.apply(new Command.Checkout(Q, "c1", NODE, 1, true, 0));
        h.publish("a");
        h.publish("b");
        assertThat(h.delivered()).containsExactly("c1:b");
        assertThat(h.view().unackedCount()).isZero();
        assertThat(h.view().readyCount()).isZero();
        assertThat(h.stats().acked()).isEqualTo(2);
    }

    @Test
    void shouldIgnoreUnknownAndForeignIdsOnSettle() {
        h.consume("c1", 0);
        h.consume("c2", 0);
        h.publish("a");
        h.settle("c2", 1, 99);
        assertThat(h.unackedIds("c1")).containsExactly(1L);
        assertThat(h.stats().acked()).isZero();
    }

    @Test
    void shouldRoundRobinAmongConsumersWithCredit() {
        h.consume("c1", 0);
        h.consume("c2", 0);
        h.consume("c3", 1);
        for (String body : List.of("a", "b", "c", "d", "e")) {
            h.publish(body);
        }
        assertThat(h.unackedIds("c1")).containsExactly(1L, 4L);
        assertThat(h.unackedIds("c2")).containsExactly(2L, 5L);
        assertThat(h.unackedIds("c3")).containsExactly(3L);
    }

    @Test
    void shouldPreferTheHighestConsumerPriorityWithCredit() {
        h.apply(new Command.Checkout(Q, "low", NODE, 0, false, 0));
        h.apply(new Command.Checkout(Q, "high", NODE, 2, false, 5));
        for (String body : List.of("a", "b", "c", "d")) {
            h.publish(body);
        }
        assertThat(h.unackedIds("high")).containsExactly(1L, 2L);
        assertThat(h.unackedIds("low")).containsExactly(3L, 4L);

        h.settle("high", 1);
        h.publish("e");
        assertThat(h.delivered()).containsExactly("high:e");
    }

    @Test
    void shouldChangePrefetchWhenTheSameConsumerChecksOutAgain() {
        h.consume("c1", 1);
        h.publish("a");
        h.publish("b");
        h.publish("c");
        h.consume("c1", 3);
        assertThat(h.delivered()).containsExactly("c1:b", "c1:c");
        assertThat(h.view().consumerCount()).isEqualTo(1);
    }

    @Test
    void shouldDeliverOnlyToTheOldestConsumerWithSingleActiveConsumer() {
        QueueHarness sac = new QueueHarness(QueueSettings.defaults().withSingleActiveConsumer(true));
        sac.consume("first", 1);
        sac.consume("second", 10);
        sac.publish("a");
        sac.publish("b");
        assertThat(sac.unackedIds("first")).containsExactly(1L);
        assertThat(sac.unackedIds("second")).isEmpty();

        sac.cancel("first");

        assertThat(sac.delivered()).containsExactly("second:a", "second:b");
        assertThat(sac.deliveries().get(0).redelivered()).isTrue();
        assertThat(sac.deliveries().get(1).redelivered()).isFalse();
    }

    @Test
    void shouldReturnCancelledConsumersMessagesToTheHeadRedeliveredInOriginalOrder() {
        h.consume("c1", 0);
        h.publish("a");
        h.publish("b");
        h.publish("c");
        h.settle("c1", 2);
        h.apply(new Command.Checkout(Q, "c1", NODE, 0, false, 0));
        h.cancel("c1");
        h.publish("d");
        assertThat(h.view().readyCount()).isEqualTo(3);

        h.consume("c2", 0);

        assertThat(h.delivered()).containsExactly("c2:a", "c2:c", "c2:d");
        List<Effect.Deliver> deliveries = h.deliveries();
        assertThat(deliveries).extracting(Effect.Deliver::redelivered).containsExactly(true, true, false);
        assertThat(deliveries).extracting(Effect.Deliver::deliveryCount).containsExactly(1, 1, 0);
        assertThat(h.stats().redelivered()).isEqualTo(2);
    }

    @Test
    void shouldLetADetachedConsumerSettleWhatItHoldsButGiveItNothingNew() {
        h.consume("c1", 0);
        h.publish("a");
        h.publish("b");
        h.apply(new Command.Detach(Q, "c1")); // basic.cancel with a and b unacked
        assertThat(h.view().consumerCount()).isZero();
        assertThat(h.view().unackedCount()).isEqualTo(2);

        h.publish("c");
        assertThat(h.view().readyCount()).isEqualTo(1); // not given to the detached consumer
        h.settle("c1", 1); // an ack after basic.cancel still settles
        assertThat(h.stats().acked()).isEqualTo(1);

        h.consume("c2", 0);
        assertThat(h.delivered()).containsExactly("c2:c");
        h.requeue("c1", 2); // the last message it held goes back, and c1 is gone
        assertThat(h.delivered()).containsExactly("c2:b");
        assertThat(h.deliveries()).extracting(Effect.Deliver::deliveryCount).containsExactly(1);
        assertThat(h.view().unackedCount()).isEqualTo(2);
    }

    @Test
    void shouldGiveAnExclusiveConsumerTheQueueToItself() {
        h.publish("a");
        h.apply(new Command.Get(Q, "getter", NODE, false)); // a basic.get holder does not count
        assertThat(h.apply(new Command.Checkout(Q, "only", NODE, 0, false, 0, true)))
                .isEqualTo(Reply.OK);
        assertThat(h.apply(new Command.Checkout(Q, "other", "n2", 0, false, 0))).isEqualTo(Reply.IN_EXCLUSIVE_USE);
        assertThat(h.apply(new Command.Checkout(Q, "rival", "n2", 0, false, 0, true)))
                .isEqualTo(Reply.IN_EXCLUSIVE_USE);
        assertThat(h.view().consumerCount()).isEqualTo(1);
        assertThat(h.apply(new Command.Checkout(Q, "only", NODE, 5, false, 0, true)))
                .as("the exclusive consumer itself may update its checkout")
                .isEqualTo(Reply.OK);

        h.publish("b");
        assertThat(h.delivered()).containsExactly("only:b");
        h.cancel("only");
        assertThat(h.apply(new Command.Checkout(Q, "other", "n2", 0, false, 0))).isEqualTo(Reply.OK);
        assertThat(h.delivered()).containsExactly("other:b");
        assertThat(h.apply(new Command.Checkout(Q, "late", NODE, 0, false, 0, true)))
                .as("exclusive use needs a queue without consumers")
                .isEqualTo(Reply.IN_EXCLUSIVE_USE);
    }

    @Test
    void shouldPutAReleasedMessageBackWithoutCountingAFailedDelivery() {
        h.consume("c1", 2);
        h.publish("a");
        h.publish("b");
        h.apply(new Command.Release(Q, "c1", new long[] {1, 2})); // held on c1's node, never sent to the client
        assertThat(h.delivered())
                .as("c1 still has the credit: straight back to it")
                .containsExactly("c1:a", "c1:b");
        assertThat(h.deliveries())
                .extracting(Effect.Deliver::deliveryCount, Effect.Deliver::redelivered)
                .containsExactly(tuple(0, false), tuple(0, false));

        h.cancel("c1"); // c1's channel closed with both delivered: each counts a failed delivery
        h.consume("c2", 0);
        assertThat(h.delivered()).containsExactly("c2:a", "c2:b");
        assertThat(h.deliveries()).extracting(Effect.Deliver::deliveryCount).containsExactly(1, 1);
    }

    @Test
    void shouldCancelEveryConsumerOnANodeThatGoesDown() {
        h.apply(new Command.Checkout(Q, "far", "n2", 0, false, 0));
        h.consume("near", 1);
        h.publish("a");
        h.publish("b");
        h.publish("c");
        assertThat(h.unackedIds("far")).containsExactly(1L, 3L);

        h.apply(new Command.NodeDown("n2"));

        assertThat(h.state.consumers(Q)).extracting(ConsumerView::consumerId).containsExactly("near");
        assertThat(h.view().readyCount()).isEqualTo(2);
        h.settle("near", 2);
        assertThat(h.delivered()).containsExactly("near:a");
    }

    @Test
    void shouldGetWithoutAckAndSettleLikeAConsumer() {
        h.publish("a");
        h.publish("b");

        Reply reply = h.apply(new Command.Get(Q, "getter", NODE, false));

        assertThat(reply).isEqualTo(new Reply.GetOk(1, 1));
        assertThat(h.delivered()).containsExactly("getter:a");
        assertThat(h.view().unackedCount()).isEqualTo(1);
        assertThat(h.view().consumerCount()).isZero();
        h.settle("getter", 1);
        assertThat(h.state.consumers(Q)).isEmpty();
        assertThat(h.stats().acked()).isEqualTo(1);
    }

    @Test
    void shouldTagAGetsDeliveryWithItsTokenAndTakeItsMessageBackUncountedOnRelease() {
        h.publish("a");
        h.publish("b");

        h.apply(new Command.Get(Q, "getter", NODE, false, 42));

        assertThat(h.deliveries()).extracting(Effect.Deliver::getToken).containsExactly(42L);
        h.effects.clear();
        // the get's answer was lost: the node gives the message back as never delivered
        h.apply(new Command.Release(Q, "getter", new long[] {1}));
        assertThat(h.view().readyCount()).isEqualTo(2);
        assertThat(h.view().unackedCount()).isZero();
        assertThat(h.state.consumers(Q)).isEmpty();
        h.apply(new Command.Get(Q, "getter", NODE, true, 43));
        assertThat(h.deliveries()).singleElement().satisfies(d -> {
            assertThat(d.msgId()).isEqualTo(1);
            assertThat(d.deliveryCount()).isZero();
            assertThat(d.getToken()).isEqualTo(43);
        });
    }

    @Test
    void shouldLeaveTheTokenOfAConsumersDeliveryZero() {
        h.consume("c1", 1);
        h.publish("a");
        assertThat(h.deliveries()).extracting(Effect.Deliver::getToken).containsExactly(0L);
    }

    @Test
    void shouldGetWithAutoAckAndAnswerEmptyWhenNothingIsReady() {
        h.publish("a");
        assertThat(h.apply(new Command.Get(Q, "getter", NODE, true))).isEqualTo(new Reply.GetOk(1, 0));
        assertThat(h.view().unackedCount()).isZero();
        assertThat(h.state.consumers(Q)).isEmpty();

        assertThat(h.apply(new Command.Get(Q, "getter", NODE, true))).isEqualTo(Reply.GET_EMPTY);
        assertThat(h.effects.isEmpty()).isTrue();
    }

    @Test
    void shouldRequeueGetMessagesWhenTheGetterIsReturnedOrItsNodeGoesDown() {
        h.publish("a");
        h.publish("b");
        h.apply(new Command.Get(Q, "g", "n2", false));
        h.apply(new Command.Get(Q, "g", "n2", false));
        h.requeue("g", 2);
        assertThat(h.view().readyCount()).isEqualTo(1);

        h.apply(new Command.NodeDown("n2"));

        assertThat(h.state.consumers(Q)).isEmpty();
        assertThat(h.view().readyCount()).isEqualTo(2);
        assertThat(h.apply(new Command.Get(Q, "g", NODE, true))).isEqualTo(new Reply.GetOk(1, 1));
    }

    @Test
    void shouldServeReturnedMessagesFirstInTheOrderTheyWereReturned() {
        h.consume("c1", 0);
        h.publish("a");
        h.publish("b");
        h.publish("c");
        h.apply(new Command.Checkout(Q, "c1", NODE, 1, false, 0));
        h.requeue("c1", 3, 1);
        assertThat(h.delivered()).isEmpty();
        h.settle("c1", 2);
        assertThat(h.delivered()).containsExactly("c1:c");
        h.settle("c1", 3);
        assertThat(h.delivered()).containsExactly("c1:a");
    }
}
