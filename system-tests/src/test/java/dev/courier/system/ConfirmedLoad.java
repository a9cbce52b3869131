package dev.courier.system;

import static org.assertj.core.api.Assertions.assertThat;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import dev.courier.client.ConfirmingPublisher;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.awaitility.Awaitility;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A steady stream of persistent publishes with ids m-0, m-1, ... through a {@link
 * ConfirmingPublisher} (which reconnects and republishes with the same id), at most {@code
 * outstanding} unconfirmed at any time, so that a gap in the confirms is the cluster's
 * unavailability and not a pause of the test. Records when each confirm arrived.
 */
final class ConfirmedLoad implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ConfirmedLoad.class);

    private final ConfirmingPublisher publisher;
    private final List<Long> confirmedAtNanos = Collections.synchronizedList(new ArrayList<>());
    private final List<CompletableFuture<ConfirmingPublisher.Confirmation>> confirms =
            Collections.synchronizedList(new ArrayList<>());
    private final AtomicBoolean stop = new AtomicBoolean();
    private final CompletableFuture<Void> load;

    ConfirmedLoad(ConfirmingPublisher publisher, String queue, int outstanding) {
        this.publisher = publisher;
        this.load = CompletableFuture.runAsync(() -> {
            int next = 0;
            while (!stop.get()) {
                if (next >= outstanding) {
                    confirms.get(next - outstanding).join();
                }
                AMQP.BasicProperties props = new AMQP.BasicProperties.Builder()
                        .messageId("m-" + next)
                        .deliveryMode(2)
                        .build();
                CompletableFuture<ConfirmingPublisher.Confirmation> confirm = publisher.publish(
                        "", queue, props, Integer.toString(next).getBytes(StandardCharsets.UTF_8));
                confirm.thenRun(() -> confirmedAtNanos.add(System.nanoTime()));
                confirms.add(confirm);
                next++;
            }
        });
    }

    /** Waits until {@code count} more confirms than now have arrived. */
    void awaitMoreConfirms(int count) {
        int target = confirmedAtNanos.size() + count;
        Awaitility.await()
                .atMost(Duration.ofSeconds(120))
                .pollInterval(Duration.ofMillis(20))
                .until(() -> confirmedAtNanos.size() >= target);
    }

    /** Milliseconds since the first confirm, for the log. */
    long sinceFirstConfirm() {
        synchronized (confirmedAtNanos) {
            return confirmedAtNanos.isEmpty() ? 0 : (System.nanoTime() - Collections.min(confirmedAtNanos)) / 1_000_000;
        }
    }

    /** Stops publishing and waits for every publish to be confirmed; answers the confirmed ids. */
    Set<String> stopAndAwaitConfirms() throws Exception {
        stop.set(true);
        load.get(60, TimeUnit.SECONDS);
        CompletableFuture.allOf(confirms.toArray(CompletableFuture[]::new)).get(120, TimeUnit.SECONDS);
        Set<String> ids = ConcurrentHashMap.newKeySet();
        for (CompletableFuture<ConfirmingPublisher.Confirmation> confirm : confirms) {
            ids.add(confirm.get().messageId());
        }
        LOG.info("{} messages published and confirmed", ids.size());
        return ids;
    }

    long reconnects() {
        return publisher.reconnectCount();
    }

    /** Consumes the queue through {@code factory}: every confirmed id is there, none twice. */
    static void assertAllThereOnce(ConnectionFactory factory, String queue, Set<String> confirmedIds) throws Exception {
        List<String> received = Collections.synchronizedList(new ArrayList<>());
        try (Connection connection = factory.newConnection()) {
            Channel channel = connection.createChannel();
            channel.basicConsume(
                    queue,
                    true,
                    (tag, delivery) -> received.add(delivery.getProperties().getMessageId()),
                    tag -> {});
            Awaitility.await()
                    .atMost(Duration.ofSeconds(60))
                    .pollInterval(Duration.ofMillis(100))
                    .until(() -> received.size() >= confirmedIds.size());
        }
        assertThat(Set.copyOf(received)).as("every confirmed message is there").containsAll(confirmedIds);
        assertThat(received).as("none twice").doesNotHaveDuplicates();
    }

    /** Logs every gap over 300 ms between consecutive confirms; answers the longest. */
    long longestGapMs() {
        long longest = 0;
        List<Long> times = new ArrayList<>(confirmedAtNanos);
        Collections.sort(times);
        for (int i = 1; i < times.size(); i++) {
            long gapMs = (times.get(i) - times.get(i - 1)) / 1_000_000;
            if (gapMs > 300) {
                LOG.info(
                        "no confirm for {} ms, from {} ms after the first",
                        gapMs,
                        (times.get(i - 1) - times.get(0)) / 1_000_000);
            }
            longest = Math.max(longest, gapMs);
        }
        return longest;
    }

    @Override
    public void close() {
        stop.set(true);
        publisher.close();
    }
}
