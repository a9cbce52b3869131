package dev.courier.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.GetResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Competing consumers with {@link WorkerPool} through a real broker. */
class WorkerPoolTest {
    @RegisterExtension
    static final TestBroker broker = new TestBroker();

    Channel setup;

    @BeforeEach
    void connect() throws Exception {
        setup = broker.connect().createChannel();
    }

    @Test
    void shouldRunTheWorkersInParallelOnTheirOwnThreads() throws Exception {
        String queue = queue(Map.of());
        CountDownLatch allBusy = new CountDownLatch(3);
        CountDownLatch release = new CountDownLatch(1);
        Set<String> threads = ConcurrentHashMap.newKeySet();
        AtomicInteger done = new AtomicInteger();
        WorkerPool pool = WorkerPool.builder(broker.connect(), queue, delivery -> {
                    threads.add(Thread.currentThread().getName());
                    allBusy.countDown();
                    release.await();
                    done.incrementAndGet();
                })
                .workers(3)
                .start();

        publish(queue, 9);

        assertThat(allBusy.await(30, TimeUnit.SECONDS))
                .as("three handlers at once")
                .isTrue();
        release.countDown();
        await().until(() -> done.get() == 9);
        awaitSettled(queue);
        assertThat(threads).hasSize(3).allMatch(name -> name.startsWith("courier-worker-" + queue));
        assertThat(pool.close(Duration.ofSeconds(30))).isTrue();
    }

    @Test
    void shouldGiveEachWorkerNoMoreThanItsPrefetchAndAckOnlyAfterTheHandlerReturns() throws Exception {
        String queue = queue(Map.of());
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger started = new AtomicInteger();
        Connection connection = broker.connect();
        WorkerPool.builder(connection, queue, delivery -> {
                    started.incrementAndGet();
                    release.await();
                })
                .workers(2)
                .prefetch(3)
                .start();

        publish(queue, 10);

        await().until(() -> unacked(queue) == 6 && ready(queue) == 4);
        assertThat(started).hasValue(2); // one at a time per worker, the rest wait in the prefetch

        // nothing was acked while the handlers ran: a crash now returns all six
        connection.abort(1_000);
        await().until(() -> ready(queue) == 10 && unacked(queue) == 0);
        release.countDown();
    }

    @Test
    void shouldRequeueAFailedMessageAndAckItWhenItSucceeds() throws Exception {
        String queue = queue(Map.of());
        List<Boolean> redelivered = new CopyOnWriteArrayList<>();
        WorkerPool.builder(broker.connect(), queue, delivery -> {
                    redelivered.add(delivery.getEnvelope().isRedeliver());
                    if (!delivery.getEnvelope().isRedeliver()) {
                        throw new IllegalStateException("flaky dependency");
                    }
                })
                .onFailure(FailurePolicy.REQUEUE)
                .start();

        publish(queue, 1);

        await().until(() -> redelivered.size() == 2);
        assertThat(redelivered).containsExactly(false, true);
        awaitSettled(queue);
    }

    @Test
    void shouldDeadLetterAFailedMessageWhenConfigured() throws Exception {
        String dlq = queue(Map.of());
        String queue = queue(Map.of("x-dead-letter-exchange", "", "x-dead-letter-routing-key", dlq));
        AtomicInteger attempts = new AtomicInteger();
        WorkerPool.builder(broker.connect(), queue, delivery -> {
                    attempts.incrementAndGet();
                    throw new IllegalArgumentException("cannot parse");
                })
                .onFailure(FailurePolicy.DEAD_LETTER)
                .start();

        publish(queue, 1);

        GetResponse dead = getEventually(dlq);
        assertThat(text(dead.getBody())).isEqualTo("job-0");
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> deaths =
                (List<Map<String, Object>>) dead.getProps().getHeaders().get("x-death");
        assertThat(deaths.get(0).get("reason").toString()).isEqualTo("rejected");
        assertThat(attempts).hasValue(1);
    }

    @Test
    void shouldDeadLetterAPoisonMessageAtTheQueuesDeliveryLimitWhenRequeueing() throws Exception {
        String dlq = queue(Map.of());
        String queue =
                queue(Map.of("x-dead-letter-exchange", "", "x-dead-letter-routing-key", dlq, "x-delivery-limit", 2));
        AtomicInteger attempts = new AtomicInteger();
        WorkerPool.builder(broker.connect(), queue, delivery -> {
                    attempts.incrementAndGet();
                    throw new IllegalStateException("always fails");
                })
                .onFailure(FailurePolicy.REQUEUE)
                .start();

        publish(queue, 1);

        GetResponse dead = getEventually(dlq);
        assertThat(dead.getProps().getHeaders().get("x-first-death-reason").toString())
                .isEqualTo("delivery_limit");
        assertThat(attempts).hasValue(3); // the first delivery and two redeliveries
    }

    @Test
    void shouldDrainOnCloseFinishingWhatItReceivedAndLeavingTheRestQueued() throws Exception {
        String queue = queue(Map.of());
        publish(queue, 20);
        CountDownLatch busy = new CountDownLatch(2);
        CountDownLatch release = new CountDownLatch(1);
        List<String> processed = new CopyOnWriteArrayList<>();
        WorkerPool pool = WorkerPool.builder(broker.connect(), queue, delivery -> {
                    busy.countDown();
                    release.await();
                    processed.add(text(delivery.getBody()));
                })
                .workers(2)
                .prefetch(4)
                .start();
        assertThat(busy.await(30, TimeUnit.SECONDS)).isTrue();
        await().until(() -> unacked(queue) == 8);

        CompletableFuture<Boolean> closed = CompletableFuture.supplyAsync(() -> pool.close(Duration.ofSeconds(30)));
        await().until(() -> setup.queueDeclarePassive(queue).getConsumerCount() == 0); // cancelled
        assertThat(closed).as("waits for the handlers").isNotDone();
        release.countDown();

        assertThat(closed.get(30, TimeUnit.SECONDS)).isTrue();
        assertThat(processed).hasSize(8).doesNotHaveDuplicates();
        await().until(() -> ready(queue) == 12 && unacked(queue) == 0);
    }

    @Test
    void shouldReturnUnfinishedMessagesToTheQueueWhenTheDrainTimesOut() throws Exception {
        String queue = queue(Map.of());
        publish(queue, 5);
        CountDownLatch busy = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        WorkerPool pool = WorkerPool.builder(broker.connect(), queue, delivery -> {
                    busy.countDown();
                    release.await();
                })
                .prefetch(5)
                .start();
        assertThat(busy.await(30, TimeUnit.SECONDS)).isTrue();

        assertThat(pool.close(Duration.ofMillis(200))).isFalse();

        await().until(() -> ready(queue) == 5 && unacked(queue) == 0);
        release.countDown();
    }

    private String queue(Map<String, Object> arguments) throws IOException {
        return setup.queueDeclare(TestBroker.unique("work"), false, false, false, arguments)
                .getQueue();
    }

    private void publish(String queue, int count) throws IOException {
        for (int i = 0; i < count; i++) {
            setup.basicPublish("", queue, null, ("job-" + i).getBytes(StandardCharsets.UTF_8));
        }
    }

    private int ready(String queue) throws IOException {
        return setup.queueDeclarePassive(queue).getMessageCount();
    }

    // the broker's own count, as the management API reports it
    private static long unacked(String queue) {
        return broker.server().broker().vhost("/").queue(queue, null).stats().unacked();
    }

    private void awaitSettled(String queue) {
        await().until(() -> ready(queue) == 0 && unacked(queue) == 0);
    }

    private GetResponse getEventually(String queue) {
        GetResponse[] holder = new GetResponse[1];
        await().until(() -> (holder[0] = setup.basicGet(queue, true)) != null);
        return holder[0];
    }

    private static String text(byte[] body) {
        return new String(body, StandardCharsets.UTF_8);
    }
}
