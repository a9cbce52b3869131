package dev.courier.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Several threads at once, as several Netty event loops would: publishers, consumers that ack and
 * requeue, metadata changes during routing. Nothing may be lost, duplicated or leaked.
 */
class ConcurrencyTest {
    private static final Duration PATIENCE = Duration.ofSeconds(60);

    private final Broker broker = new Broker(new BrokerConfig(2));
    private final VirtualHost vhost = broker.vhost("/");
    private final TestMessages messages = new TestMessages();
    private final ExecutorService threads = Executors.newFixedThreadPool(4);

    @AfterEach
    void closeAndCheckForLeaks() throws Exception {
        threads.shutdownNow();
        assertThat(threads.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
        broker.close();
        messages.assertAllReleased();
    }

    /** Acks what it gets; with {@code requeueFirst}, requeues every first delivery instead. */
    private static TestConsumer acker(
            String tag, MessageQueue queue, boolean requeueFirst, Map<String, AtomicInteger> acked) {
        return new TestConsumer(tag, false, 0) {
            @Override
            public void deliver(Delivery delivery) {
                String body = TestMessages.body(delivery);
                long[] id = {delivery.entryId()};
                delivery.message().release();
                if (requeueFirst && !delivery.redelivered()) {
                    queue.requeue(id, 1);
                } else {
                    acked.computeIfAbsent(body, b -> new AtomicInteger()).incrementAndGet();
                    queue.ack(id, 1);
                }
            }
        };
    }

    @Test
    void shouldLoseAndDuplicateNothingWhilePublishersConsumersAcksAndRequeuesRunTogether() throws Exception {
        vhost.declareQueue("work", false, false, false, false, Map.of(), null).get();
        MessageQueue queue = vhost.queue("work", null);
        Map<String, AtomicInteger> acked = new ConcurrentHashMap<>();
        queue.addConsumer(acker("steady", queue, false, acked), false).get();
        queue.addConsumer(acker("fickle", queue, true, acked), false).get();

        int publishers = 4;
        int perPublisher = 5_000;
        List<Future<?>> running = new ArrayList<>();
        CountDownLatch start = new CountDownLatch(1);
        for (int p = 0; p < publishers; p++) {
            int publisher = p;
            running.add(threads.submit(() -> {
                start.await();
                for (int i = 0; i < perPublisher; i++) {
                    queue.enqueue(messages.create(publisher + "-" + i), null);
                    if (i == perPublisher / 2 && publisher == 0) {
                        // a consumer joins half way through
                        queue.addConsumer(acker("late", queue, false, acked), false);
                    }
                }
                return null;
            }));
        }
        start.countDown();
        for (Future<?> publisher : running) {
            publisher.get(60, TimeUnit.SECONDS);
        }
        int total = publishers * perPublisher;
        await().atMost(PATIENCE).until(() -> acked.size() == total && queue.messageCount() == 0);
        assertThat(acked.values()).allSatisfy(count -> assertThat(count.get()).isEqualTo(1));
        assertThat(vhost.declareQueue("work", true, false, false, false, Map.of(), null)
                        .get()
                        .messageCount())
                .isZero();
    }

    @Test
    void shouldKeepPerPublisherOrderForASingleConsumer() throws Exception {
        vhost.declareQueue("ordered", false, false, false, false, Map.of(), null)
                .get();
        MessageQueue queue = vhost.queue("ordered", null);
        TestConsumer consumer = TestConsumer.autoAck("c");
        queue.addConsumer(consumer, false).get();
        List<Future<?>> running = new ArrayList<>();
        for (int p = 0; p < 3; p++) {
            int publisher = p;
            running.add(threads.submit(() -> {
                for (int i = 0; i < 3_000; i++) {
                    queue.enqueue(messages.create(publisher + "-" + i), null);
                }
            }));
        }
        for (Future<?> publisher : running) {
            publisher.get(60, TimeUnit.SECONDS);
        }
        await().atMost(PATIENCE).until(() -> consumer.bodies.size() == 9_000);
        int[] next = new int[3];
        for (String body : consumer.bodies) {
            String[] parts = body.split("-");
            int publisher = Integer.parseInt(parts[0]);
            assertThat(Integer.parseInt(parts[1])).as(body).isEqualTo(next[publisher]++);
        }
    }

    @Test
    void shouldRouteToStableBindingsWhileOtherBindingsChange() throws Exception {
        vhost.declareExchange("topic", "topic", false, false, false, false, Map.of());
        vhost.declareQueue("stable", false, false, false, false, Map.of(), null).get();
        vhost.bindQueue("stable", "topic", "orders.#", Map.of(), null);
        AtomicBoolean churning = new AtomicBoolean(true);
        List<String> failures = new CopyOnWriteArrayList<>();

        Future<?> churn = threads.submit(() -> {
            int round = 0;
            while (churning.get()) {
                String name = "temp" + (round++ % 8);
                vhost.declareQueue(name, false, false, false, false, Map.of(), null)
                        .get();
                vhost.bindQueue(name, "topic", "orders.*", Map.of(), null);
                vhost.bindQueue(name, "topic", "#", Map.of(), null);
                vhost.unbindQueue(name, "topic", "#", Map.of(), null);
                vhost.deleteQueue(name, false, false, null).get();
            }
            return null;
        });
        List<Future<?>> routers = new ArrayList<>();
        for (int t = 0; t < 3; t++) {
            routers.add(threads.submit(() -> {
                List<MessageQueue> out = new ArrayList<>();
                for (int i = 0; i < 20_000; i++) {
                    out.clear();
                    Message message = messages.create("");
                    try {
                        vhost.route("topic", "orders.eu", message, out);
                    } finally {
                        message.release();
                    }
                    long stable =
                            out.stream().filter(q -> q.name().equals("stable")).count();
                    if (stable != 1 || out.stream().distinct().count() != out.size()) {
                        failures.add(out.toString());
                    }
                }
            }));
        }
        for (Future<?> router : routers) {
            router.get(60, TimeUnit.SECONDS);
        }
        churning.set(false);
        churn.get(60, TimeUnit.SECONDS);
        assertThat(failures).isEmpty();
    }

    @Test
    void shouldCreateOneQueueWhenManyConnectionsDeclareItAtOnce() throws Exception {
        List<CompletableFuture<QueueDeclareOk>> declares = new CopyOnWriteArrayList<>();
        CountDownLatch start = new CountDownLatch(1);
        List<Future<?>> running = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            running.add(threads.submit(() -> {
                start.await();
                for (int i = 0; i < 50; i++) {
                    declares.add(vhost.declareQueue("shared", false, true, false, false, Map.of(), null));
                }
                return null;
            }));
        }
        start.countDown();
        for (Future<?> thread : running) {
            thread.get(60, TimeUnit.SECONDS);
        }
        for (CompletableFuture<QueueDeclareOk> declare : declares) {
            assertThat(declare.get(10, TimeUnit.SECONDS).queue()).isEqualTo("shared");
        }
        assertThat(vhost.queues()).hasSize(1);
    }
}
