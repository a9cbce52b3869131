package dev.courier.broker;

import static dev.courier.protocol.AmqpConstants.ACCESS_REFUSED;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The queue actor without sockets: FIFO, consumers, credit, settlement, counts, deletion. */
class MessageQueueTest {
    private final Broker broker = new Broker(new BrokerConfig(2));
    private final VirtualHost vhost = broker.vhost("/");
    private final TestMessages messages = new TestMessages();

    @AfterEach
    void closeAndCheckForLeaks() {
        broker.close();
        messages.assertAllReleased();
    }

    private MessageQueue declare(String name) throws Exception {
        vhost.declareQueue(name, false, false, false, false, Map.of(), null).get();
        return vhost.queue(name, null);
    }

    private void publish(MessageQueue queue, String... bodies) {
        for (String body : bodies) {
            queue.enqueue(messages.create(body), null);
        }
    }

    /** Waits until every command posted to the queue so far has run; answers its counts. */
    private QueueDeclareOk barrier(MessageQueue queue) throws Exception {
        return vhost.declareQueue(queue.name(), true, false, false, false, Map.of(), null)
                .get();
    }

    private static String[] bodies(String prefix, int count) {
        String[] bodies = new String[count];
        for (int i = 0; i < count; i++) {
            bodies[i] = prefix + i;
        }
        return bodies;
    }

    @Test
    void shouldDeliverInPublishOrder() throws Exception {
        MessageQueue queue = declare("fifo");
        publish(queue, bodies("m", 500));
        TestConsumer consumer = TestConsumer.autoAck("c");
        queue.addConsumer(consumer, false).get();
        publish(queue, bodies("n", 500));
        await().until(() -> consumer.bodies.size() == 1000);
        List<String> expected = new ArrayList<>(List.of(bodies("m", 500)));
        expected.addAll(List.of(bodies("n", 500)));
        assertThat(consumer.bodies).containsExactlyElementsOf(expected);
        assertThat(consumer.deliveries).allSatisfy(d -> {
            assertThat(d.redelivered()).isFalse();
            assertThat(d.messageCountAfter()).isEqualTo(-1);
            assertThat(d.queue()).isSameAs(queue);
        });
    }

    @Test
    void shouldTellTheEnqueueListenerWhetherTheQueueTookTheMessage() throws Exception {
        MessageQueue queue = declare("listened");
        List<Boolean> answers = new CopyOnWriteArrayList<>();
        queue.enqueue(messages.create("a"), answers::add);
        await().until(() -> answers.size() == 1);
        vhost.deleteQueue("listened", false, false, null).get();
        queue.enqueue(messages.create("b"), answers::add);
        await().until(() -> answers.size() == 2);
        assertThat(answers).containsExactly(true, false);
    }

    @Test
    void shouldRoundRobinAmongConsumersOfEqualPriority() throws Exception {
        MessageQueue queue = declare("round-robin");
        TestConsumer a = TestConsumer.autoAck("a");
        TestConsumer b = TestConsumer.autoAck("b");
        TestConsumer c = TestConsumer.autoAck("c");
        queue.addConsumer(a, false).get();
        queue.addConsumer(b, false).get();
        queue.addConsumer(c, false).get();
        publish(queue, bodies("m", 9));
        await().until(() -> a.bodies.size() + b.bodies.size() + c.bodies.size() == 9);
        assertThat(a.bodies).containsExactly("m0", "m3", "m6");
        assertThat(b.bodies).containsExactly("m1", "m4", "m7");
        assertThat(c.bodies).containsExactly("m2", "m5", "m8");

        queue.removeConsumer(b).get();
        publish(queue, bodies("n", 4));
        await().until(() -> a.bodies.size() + c.bodies.size() == 10);
        assertThat(a.bodies.subList(3, 5)).containsExactly("n0", "n2");
        assertThat(c.bodies.subList(3, 5)).containsExactly("n1", "n3");
    }

    @Test
    void shouldSkipAConsumerWithoutCreditAndComeBackToItInTurn() throws Exception {
        MessageQueue queue = declare("skip");
        TestConsumer a = TestConsumer.autoAck("a");
        TestConsumer b = TestConsumer.autoAck("b").withCredit(1);
        queue.addConsumer(a, false).get();
        queue.addConsumer(b, false).get();
        publish(queue, bodies("m", 5));
        await().until(() -> a.bodies.size() + b.bodies.size() == 5);
        assertThat(b.bodies).containsExactly("m1");
        assertThat(a.bodies).containsExactly("m0", "m2", "m3", "m4");
    }

    @Test
    void shouldServeHigherPriorityConsumersFirstWhileTheyHaveCredit() throws Exception {
        MessageQueue queue = declare("priorities");
        TestConsumer low = new TestConsumer("low", true, 0);
        TestConsumer high1 = new TestConsumer("high1", true, 10).withCredit(2);
        TestConsumer high2 = new TestConsumer("high2", true, 10).withCredit(2);
        TestConsumer negative = new TestConsumer("negative", true, -5);
        queue.addConsumer(negative, false).get();
        queue.addConsumer(low, false).get();
        queue.addConsumer(high1, false).get();
        queue.addConsumer(high2, false).get();
        publish(queue, bodies("m", 8));
        await().until(() -> low.bodies.size() + high1.bodies.size() + high2.bodies.size() == 8);
        assertThat(high1.bodies).containsExactly("m0", "m2");
        assertThat(high2.bodies).containsExactly("m1", "m3");
        assertThat(low.bodies).containsExactly("m4", "m5", "m6", "m7");
        assertThat(negative.bodies).isEmpty();

        high2.credit.set(1);
        queue.creditAvailable();
        publish(queue, "n0", "n1");
        await().until(() -> high2.bodies.size() + low.bodies.size() == 8);
        assertThat(high2.bodies).endsWith("n0");
        assertThat(low.bodies).endsWith("n1");
    }

    @Test
    void shouldDeliverNothingToAConsumerWithoutCreditUntilCreditIsAvailable() throws Exception {
        MessageQueue queue = declare("credit");
        TestConsumer consumer = TestConsumer.manual("c").withCredit(0);
        queue.addConsumer(consumer, false).get();
        publish(queue, "a", "b", "c");
        assertThat(barrier(queue).messageCount()).isEqualTo(3);
        assertThat(consumer.deliveries).isEmpty();

        consumer.credit.set(2); // credit alone does not wake the queue ...
        assertThat(barrier(queue).messageCount()).isEqualTo(3);
        assertThat(consumer.deliveries).isEmpty();

        queue.creditAvailable(); // ... creditAvailable does, and it delivers as much as there is credit
        await().until(() -> consumer.deliveries.size() == 2);
        assertThat(barrier(queue).messageCount()).isEqualTo(1);
        assertThat(consumer.bodies).containsExactly("a", "b");
        queue.ack(consumer.entryIds(), 2);
    }

    @Test
    void shouldRequeueAtTheOriginalPositionMarkedRedelivered() throws Exception {
        MessageQueue queue = declare("requeue");
        TestConsumer consumer = TestConsumer.manual("c").withCredit(5);
        queue.addConsumer(consumer, false).get();
        publish(queue, bodies("m", 8));
        await().until(() -> consumer.deliveries.size() == 5);
        assertThat(barrier(queue).messageCount()).isEqualTo(3);

        queue.requeue(new long[] {consumer.entryId(3), consumer.entryId(1), 0}, 2); // count limits the array
        assertThat(barrier(queue).messageCount()).isEqualTo(5);
        consumer.credit.set(3);
        queue.creditAvailable();
        await().until(() -> consumer.deliveries.size() == 8);
        assertThat(consumer.bodies.subList(5, 8)).containsExactly("m1", "m3", "m5");

        queue.requeue(new long[] {consumer.entryId(0), consumer.entryId(6)}, 2); // m0 and m3 again
        queue.ack(new long[] {consumer.entryId(2), consumer.entryId(4), consumer.entryId(5), consumer.entryId(7)}, 4);
        consumer.credit.set(TestConsumer.UNLIMITED);
        queue.creditAvailable();
        await().until(() -> consumer.deliveries.size() == 12);
        assertThat(consumer.bodies.subList(8, 12)).containsExactly("m0", "m3", "m6", "m7");
        assertThat(consumer.deliveries.subList(8, 12))
                .extracting(Delivery::redelivered)
                .containsExactly(true, true, false, false);
        assertThat(consumer.deliveries.get(5).redelivered()).isTrue();
        long[] rest = consumer.deliveries.subList(8, 12).stream()
                .mapToLong(Delivery::entryId)
                .toArray();
        queue.ack(rest, rest.length);
        assertThat(barrier(queue).messageCount()).isZero();
    }

    @Test
    void shouldAnswerGetWithTheMessageAndTheCountLeft() throws Exception {
        MessageQueue queue = declare("get");
        GetResult empty = queue.get(false).get();
        assertThat(empty.delivery()).isNull();
        assertThat(empty.messageCount()).isZero();

        publish(queue, "a", "b", "c");
        GetResult first = queue.get(false).get();
        assertThat(TestMessages.body(first.delivery())).isEqualTo("a");
        assertThat(first.messageCount()).isEqualTo(2);
        assertThat(first.delivery().messageCountAfter()).isEqualTo(2);
        assertThat(first.delivery().redelivered()).isFalse();
        first.delivery().message().release();
        assertThat(barrier(queue).messageCount()).as("unacked is not counted").isEqualTo(2);

        queue.requeue(new long[] {first.delivery().entryId()}, 1);
        GetResult again = queue.get(true).get();
        assertThat(TestMessages.body(again.delivery())).isEqualTo("a");
        assertThat(again.delivery().redelivered()).isTrue();
        assertThat(again.messageCount()).isEqualTo(2);
        again.delivery().message().release();

        GetResult second = queue.get(true).get();
        second.delivery().message().release();
        GetResult third = queue.get(true).get();
        third.delivery().message().release();
        assertThat(third.messageCount()).isZero();
        assertThat(queue.get(true).get().delivery()).isNull();
    }

    @Test
    void shouldPurgeReadyMessagesAndLeaveUnackedOnes() throws Exception {
        MessageQueue queue = declare("purge");
        publish(queue, "a", "b", "c");
        GetResult taken = queue.get(false).get();
        taken.delivery().message().release();
        assertThat(vhost.purgeQueue("purge", null).get()).isEqualTo(2);
        assertThat(queue.messageCount()).isZero();
        queue.requeue(new long[] {taken.delivery().entryId()}, 1);
        assertThat(barrier(queue).messageCount()).isEqualTo(1);
        assertThat(queue.purge().get()).isEqualTo(1);
    }

    @Test
    void shouldDropDiscardedMessages() throws Exception {
        MessageQueue queue = declare("discard");
        TestConsumer consumer = TestConsumer.manual("c");
        queue.addConsumer(consumer, false).get();
        publish(queue, "a", "b");
        await().until(() -> consumer.deliveries.size() == 2);
        queue.discard(consumer.entryIds(), 2);
        assertThat(barrier(queue).messageCount()).isZero();
        queue.requeue(consumer.entryIds(), 2); // already settled: nothing happens
        assertThat(barrier(queue).messageCount()).isZero();
    }

    @Test
    void shouldKeepTheUnackedMessagesOfARemovedConsumer() throws Exception {
        MessageQueue queue = declare("removed");
        TestConsumer first = TestConsumer.manual("first");
        queue.addConsumer(first, false).get();
        publish(queue, "a", "b");
        await().until(() -> first.deliveries.size() == 2);
        queue.removeConsumer(first).get();
        assertThat(barrier(queue)).isEqualTo(new QueueDeclareOk("removed", 0, 0));

        TestConsumer second = TestConsumer.manual("second");
        queue.addConsumer(second, false).get();
        queue.requeue(first.entryIds(), 2); // the server requeues them when the channel closes
        await().until(() -> second.deliveries.size() == 2);
        assertThat(second.bodies).containsExactly("a", "b");
        assertThat(second.deliveries)
                .allSatisfy(d -> assertThat(d.redelivered()).isTrue());
        queue.ack(second.entryIds(), 2);
    }

    @Test
    void shouldCountEnqueuesAndConsumersPostedBeforeADeclare() throws Exception {
        MessageQueue queue = declare("counts");
        TestConsumer idle = TestConsumer.manual("idle").withCredit(0);
        queue.addConsumer(idle, false); // not awaited: the declare must still count it
        for (int i = 0; i < 100; i++) {
            queue.enqueue(messages.create("m"), null);
        }
        assertThat(vhost.declareQueue("counts", false, false, false, false, Map.of(), null)
                        .get())
                .isEqualTo(new QueueDeclareOk("counts", 100, 1));
    }

    @Test
    void shouldRefuseConsumersBesideAnExclusiveOne() throws Exception {
        MessageQueue queue = declare("exclusive");
        String text = "queue 'exclusive' in vhost '/' in exclusive use";
        TestConsumer owner = TestConsumer.autoAck("owner");
        queue.addConsumer(owner, true).get();
        assertThatThrownBy(() ->
                        queue.addConsumer(TestConsumer.autoAck("other"), false).get())
                .isInstanceOf(ExecutionException.class)
                .cause()
                .isInstanceOf(AmqpException.class)
                .hasMessage(text)
                .satisfies(e -> assertThat(((AmqpException) e).replyCode()).isEqualTo(ACCESS_REFUSED));
        queue.removeConsumer(owner).get();

        queue.addConsumer(TestConsumer.autoAck("shared"), false).get();
        assertThatThrownBy(() ->
                        queue.addConsumer(TestConsumer.autoAck("greedy"), true).get())
                .cause()
                .hasMessage(text);
        assertThat(barrier(queue).consumerCount()).isEqualTo(1);
    }

    @Test
    void shouldCancelConsumersAndReleaseMessagesWhenDeleted() throws Exception {
        MessageQueue queue = declare("deleted");
        TestConsumer consumer = TestConsumer.manual("c").withCredit(1);
        queue.addConsumer(consumer, false).get();
        publish(queue, "unacked", "ready1", "ready2");
        await().until(() -> consumer.deliveries.size() == 1);
        assertThat(vhost.deleteQueue("deleted", false, false, null).get()).isEqualTo(2);
        assertThat(consumer.cancelled).isTrue();
        assertThat(queue.consumerCount()).isZero();
        assertThat(vhost.queues()).isEmpty();
        assertThatThrownBy(() -> queue.get(true).get()).cause().isInstanceOf(AmqpException.class);
        assertThatThrownBy(() ->
                        queue.addConsumer(TestConsumer.autoAck("late"), false).get())
                .cause()
                .hasMessage("no queue 'deleted' in vhost '/'");
        queue.requeue(consumer.entryIds(), 1); // settled after deletion: dropped, released
        assertThat(vhost.deleteQueue("deleted", false, false, null).get()).isZero();
    }

    @Test
    void shouldYieldItsThreadToOtherQueuesAfterABatchOfCommands() throws Exception {
        try (Broker single = new Broker(new BrokerConfig(1))) {
            VirtualHost host = single.vhost("/");
            for (String name : List.of("gate", "busy", "other")) {
                host.declareQueue(name, false, false, false, false, Map.of(), null)
                        .get();
            }
            CountDownLatch entered = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            TestConsumer blocker = new TestConsumer("blocker", true, 0) {
                @Override
                public void deliver(Delivery delivery) {
                    super.deliver(delivery);
                    entered.countDown();
                    try {
                        release.await(10, TimeUnit.SECONDS); // holds the only queue thread
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            };
            MessageQueue gate = host.queue("gate", null);
            MessageQueue busy = host.queue("busy", null);
            gate.addConsumer(blocker, false).get();
            gate.enqueue(messages.create("block"), null);
            assertThat(entered.await(10, TimeUnit.SECONDS)).isTrue();
            for (int i = 0; i < 5_000; i++) {
                busy.enqueue(messages.create("m"), null);
            }
            var other = host.declareQueue("other", true, false, false, false, Map.of(), null)
                    .thenApply(ok -> busy.messageCount());
            release.countDown();
            assertThat(other.get(10, TimeUnit.SECONDS))
                    .as("the busy queue had run only part of its mailbox when the other queue got its turn")
                    .isPositive()
                    .isLessThan(5_000);
        }
    }

    @Test
    void shouldRunQueuesOnNamedDaemonThreads() throws Exception {
        MessageQueue queue = declare("threads");
        List<Thread> threads = new CopyOnWriteArrayList<>();
        TestConsumer consumer = new TestConsumer("t", true, 0) {
            @Override
            public void deliver(Delivery delivery) {
                threads.add(Thread.currentThread());
                super.deliver(delivery);
            }
        };
        queue.addConsumer(consumer, false).get();
        publish(queue, "a");
        await().until(() -> threads.size() == 1);
        assertThat(threads.get(0).getName()).matches("courier-queue-\\d+");
        assertThat(threads.get(0).isDaemon()).isTrue();
    }

    @Test
    void shouldReleaseQueuedAndUnackedMessagesWhenTheBrokerCloses() throws Exception {
        MessageQueue queue = declare("closing");
        TestConsumer consumer = TestConsumer.manual("c").withCredit(2);
        queue.addConsumer(consumer, false).get();
        publish(queue, bodies("m", 10));
        await().until(() -> consumer.deliveries.size() == 2);
        broker.close();
        queue.enqueue(messages.create("after close"), null); // refused and released, not stranded
        // the leak check in closeAndCheckForLeaks covers all of them
    }

    @Test
    void shouldSettleAutoAckDeliveriesAtOnce() throws Exception {
        MessageQueue queue = declare("auto");
        TestConsumer consumer = TestConsumer.autoAck("c");
        queue.addConsumer(consumer, false).get();
        publish(queue, "a");
        await().until(() -> consumer.deliveries.size() == 1);
        queue.requeue(consumer.entryIds(), 1); // not unacked: nothing comes back
        assertThat(barrier(queue).messageCount()).isZero();
        assertThat(consumer.deliveries).hasSize(1);
        await().atMost(Duration.ofSeconds(5))
                .until(() -> consumer.deliveries.get(0).message().refCnt() == 0);
    }
}
