package dev.courier.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.courier.protocol.BasicProperties;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The queue actor without sockets: FIFO, credit, requeue position, counts, concurrency, no leaks. */
class MessageQueueTest {
    private final Broker broker = new Broker(new BrokerConfig(2));
    private final VirtualHost vhost = broker.vhost("/");
    private final List<Message> created = Collections.synchronizedList(new ArrayList<>());

    @AfterEach
    void closeAndCheckForLeaks() {
        broker.close();
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            for (Message message : created) {
                assertThat(message.refCnt()).as("leaked %s", message).isZero();
            }
        });
    }

    private Message message(String body) {
        ByteBuf properties = Unpooled.buffer();
        BasicProperties.EMPTY.encode(properties);
        Message message = new Message("", "q", properties, Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
        created.add(message);
        return message;
    }

    private MessageQueue declare(String name) throws Exception {
        vhost.declareQueue(name, false, false, false, false, Map.of(), null).get();
        return vhost.queue(name, null);
    }

    /** A test consumer: credit controlled by a flag, records deliveries and releases them. */
    static final class TestConsumer implements Consumer {
        final List<Delivery> deliveries = new CopyOnWriteArrayList<>();
        final List<String> bodies = new CopyOnWriteArrayList<>();
        final AtomicBoolean credit = new AtomicBoolean(true);
        final boolean autoAck;
        final int priority;
        volatile boolean cancelled;

        TestConsumer(boolean autoAck, int priority) {
            this.autoAck = autoAck;
            this.priority = priority;
        }

        @Override
        public String consumerTag() {
            return "c" + priority;
        }

        @Override
        public boolean autoAck() {
            return autoAck;
        }

        @Override
        public int priority() {
            return priority;
        }

        @Override
        public boolean tryAcquireCredit() {
            return credit.get();
        }

        @Override
        public void deliver(Delivery delivery) {
            bodies.add(delivery.message().body().toString(StandardCharsets.UTF_8));
            deliveries.add(delivery);
            delivery.message().release();
        }

        @Override
        public void onQueueDeleted() {
            cancelled = true;
        }

        List<String> bodies() {
            return bodies;
        }
    }

    @Test
    void shouldDeliverInFifoOrderAndRequeueAtTheOriginalPosition() throws Exception {
        MessageQueue queue = declare("fifo");
        for (int i = 0; i < 5; i++) {
            queue.enqueue(message("m" + i), null);
        }
        TestConsumer consumer = new TestConsumer(false, 0);
        queue.addConsumer(consumer, false).get();
        await().until(() -> consumer.deliveries.size() == 5);
        assertThat(consumer.bodies()).containsExactly("m0", "m1", "m2", "m3", "m4");
        consumer.credit.set(false);
        queue.requeue(
                new long[] {
                    consumer.deliveries.get(3).entryId(),
                    consumer.deliveries.get(1).entryId()
                },
                2);
        queue.enqueue(message("m5"), null);
        consumer.credit.set(true);
        queue.creditAvailable();
        await().until(() -> consumer.deliveries.size() == 8);
        assertThat(consumer.bodies().subList(5, 8)).containsExactly("m1", "m3", "m5");
        assertThat(consumer.deliveries.get(5).redelivered()).isTrue();
        assertThat(consumer.deliveries.get(7).redelivered()).isFalse();
        long[] all = consumer.deliveries.stream()
                .mapToLong(Delivery::entryId)
                .distinct()
                .toArray();
        queue.ack(all, all.length);
    }

    @Test
    void shouldHoldMessagesWhileTheConsumerHasNoCredit() throws Exception {
        MessageQueue queue = declare("credit");
        TestConsumer consumer = new TestConsumer(true, 0);
        consumer.credit.set(false);
        queue.addConsumer(consumer, false).get();
        queue.enqueue(message("a"), null);
        assertThat(queue.purge().get()).isEqualTo(1); // still ready: nothing was delivered
        queue.enqueue(message("b"), null);
        consumer.credit.set(true);
        queue.creditAvailable();
        await().until(() -> consumer.deliveries.size() == 1);
        assertThat(consumer.bodies()).containsExactly("b");
    }

    @Test
    void shouldServeHigherPriorityConsumersFirstAndRoundRobinAmongEquals() throws Exception {
        MessageQueue queue = declare("priorities");
        TestConsumer low = new TestConsumer(true, 0);
        TestConsumer high1 = new TestConsumer(true, 5);
        TestConsumer high2 = new TestConsumer(true, 5);
        queue.addConsumer(low, false).get();
        queue.addConsumer(high1, false).get();
        queue.addConsumer(high2, false).get();
        for (int i = 0; i < 10; i++) {
            queue.enqueue(message("m" + i), null);
        }
        await().until(() -> high1.deliveries.size() + high2.deliveries.size() == 10);
        assertThat(high1.deliveries).hasSize(5);
        assertThat(low.deliveries).isEmpty();
        high1.credit.set(false);
        high2.credit.set(false);
        queue.enqueue(message("for-low"), null);
        await().until(() -> low.deliveries.size() == 1);
    }

    @Test
    void shouldAnswerGetWithTheRemainingCount() throws Exception {
        MessageQueue queue = declare("get");
        assertThat(queue.get(true).get().delivery()).isNull();
        queue.enqueue(message("a"), null);
        queue.enqueue(message("b"), null);
        GetResult result = queue.get(false).get();
        assertThat(result.messageCount()).isEqualTo(1);
        assertThat(result.delivery().message().body().toString(StandardCharsets.UTF_8))
                .isEqualTo("a");
        result.delivery().message().release();
        queue.discard(new long[] {result.delivery().entryId()}, 1);
        GetResult next = queue.get(true).get();
        next.delivery().message().release();
        assertThat(next.messageCount()).isZero();
    }

    @Test
    void shouldCountEnqueuesPostedBeforeADeclare() throws Exception {
        MessageQueue queue = declare("counts");
        for (int i = 0; i < 100; i++) {
            queue.enqueue(message("m"), null);
        }
        assertThat(vhost.declareQueue("counts", true, false, false, false, Map.of(), null)
                        .get()
                        .messageCount())
                .isEqualTo(100);
    }

    @Test
    void shouldRefuseASecondConsumerNextToAnExclusiveOne() throws Exception {
        MessageQueue queue = declare("exclusive");
        queue.addConsumer(new TestConsumer(true, 0), true).get();
        assertThatThrownBy(() ->
                        queue.addConsumer(new TestConsumer(true, 0), false).get())
                .isInstanceOf(ExecutionException.class)
                .hasCauseInstanceOf(AmqpException.class);
    }

    @Test
    void shouldCancelConsumersAndDropMessagesWhenDeleted() throws Exception {
        MessageQueue queue = declare("deleted");
        TestConsumer consumer = new TestConsumer(false, 0);
        consumer.credit.set(false);
        queue.addConsumer(consumer, false).get();
        queue.enqueue(message("a"), null);
        queue.enqueue(message("b"), null);
        assertThat(vhost.deleteQueue("deleted", false, false, null).get()).isEqualTo(2);
        assertThat(consumer.cancelled).isTrue();
        List<Boolean> accepted = new CopyOnWriteArrayList<>();
        queue.enqueue(message("late"), accepted::add);
        await().until(() -> accepted.size() == 1);
        assertThat(accepted).containsExactly(false);
    }

    @Test
    void shouldLoseAndDuplicateNothingUnderConcurrentPublishersAndAcks() throws Exception {
        MessageQueue queue = declare("concurrent");
        List<Long> acked = new CopyOnWriteArrayList<>();
        Consumer acker = new Consumer() {
            @Override
            public String consumerTag() {
                return "acker";
            }

            @Override
            public boolean autoAck() {
                return false;
            }

            @Override
            public int priority() {
                return 0;
            }

            @Override
            public boolean tryAcquireCredit() {
                return true;
            }

            @Override
            public void deliver(Delivery delivery) {
                acked.add(Long.parseLong(delivery.message().body().toString(StandardCharsets.UTF_8)));
                delivery.message().release();
                queue.ack(new long[] {delivery.entryId()}, 1);
            }

            @Override
            public void onQueueDeleted() {}
        };
        queue.addConsumer(acker, false).get();
        List<Thread> publishers = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            int base = t * 10_000;
            Thread thread = new Thread(() -> {
                for (int i = 0; i < 10_000; i++) {
                    queue.enqueue(message(Long.toString(base + i)), null);
                }
            });
            publishers.add(thread);
            thread.start();
        }
        for (Thread thread : publishers) {
            thread.join();
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> acked.size() == 40_000);
        assertThat(acked.stream().distinct().count()).isEqualTo(40_000);
        assertThat(queue.messageCount()).isZero();
    }
}
