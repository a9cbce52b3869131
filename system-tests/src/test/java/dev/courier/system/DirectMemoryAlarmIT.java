package dev.courier.system;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.DeliverCallback;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A backlog of transient messages lives in direct memory (Netty's buffers hold the bodies), not on
 * the heap. A broker process whose direct memory is small next to its heap ({@code
 * -XX:MaxDirectMemorySize=256m}, {@code -Xmx768m}) gets a publisher that never stops: the memory
 * watermark must block it with connection.blocked before the bodies exhaust direct memory, lose
 * nothing, and let it go on once a consumer drained the queue. Watching the heap alone, the broker
 * ran out of direct memory instead.
 *
 * <p>The watermark is checked every 100 ms, so the 30% above it must hold what a publisher on
 * loopback sends meanwhile, on a loaded machine too: with a 64 MiB limit (19 MiB of headroom) a
 * CI run once saw the publisher get there first.
 */
@Tag("system")
class DirectMemoryAlarmIT {
    private static final int BODY_BYTES = 4096;
    /** 256 MiB hold about 64,000 such bodies: ten times that is far past the direct-memory limit. */
    private static final int MOST_MESSAGES = 640_000;

    @TempDir
    Path dataDir;

    @Test
    void shouldBlockThePublisherBeforeMessageBodiesExhaustDirectMemory() throws Exception {
        try (BrokerProcess broker = BrokerProcess.startWithJavaOpts("-Xmx768m -XX:MaxDirectMemorySize=256m", dataDir);
                Connection publisherConnection = factory(broker).newConnection();
                Connection consumerConnection = factory(broker).newConnection()) {
            AtomicReference<String> blockedReason = new AtomicReference<>();
            AtomicBoolean unblocked = new AtomicBoolean();
            publisherConnection.addBlockedListener(blockedReason::set, () -> unblocked.set(true));
            Channel publisher = publisherConnection.createChannel();
            publisher.queueDeclare("backlog", false, false, false, null);

            AtomicInteger published = new AtomicInteger();
            AtomicBoolean stop = new AtomicBoolean();
            byte[] body = new byte[BODY_BYTES];
            // its own thread: once the broker stops reading, a publish may block in the socket
            CompletableFuture<Void> publishing = CompletableFuture.runAsync(() -> {
                try {
                    while (!stop.get() && blockedReason.get() == null && published.get() < MOST_MESSAGES) {
                        publisher.basicPublish("", "backlog", null, body);
                        published.incrementAndGet();
                    }
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            await().atMost(Duration.ofMinutes(2)).until(() -> blockedReason.get() != null || publishing.isDone());
            stop.set(true);
            assertThat(blockedReason.get())
                    .as("connection.blocked after %d messages of %d bytes", published.get(), BODY_BYTES)
                    .isNotNull()
                    .contains("direct memory");
            assertThat(published.get()).as("a real backlog before the alarm").isGreaterThan(10_000);

            AtomicInteger delivered = new AtomicInteger();
            Channel consumer = consumerConnection.createChannel();
            DeliverCallback count = (tag, delivery) -> delivered.incrementAndGet();
            consumer.basicConsume("backlog", true, count, tag -> {});
            await().atMost(Duration.ofMinutes(2)).untilTrue(unblocked);
            publishing.get();
            await().atMost(Duration.ofMinutes(1)).until(() -> delivered.get() == published.get());

            // publishing works again, and nothing was lost on the way
            publisher.basicPublish("", "backlog", null, body);
            await().atMost(Duration.ofMinutes(1)).until(() -> delivered.get() == published.get() + 1);
            assertThat(broker.alive()).isTrue();
            assertThat(broker.stderr()).doesNotContain("OutOfMemoryError").doesNotContain("OutOfDirectMemoryError");
        }
    }

    private static ConnectionFactory factory(BrokerProcess broker) {
        ConnectionFactory factory = new ConnectionFactory();
        factory.setPort(broker.amqpPort());
        factory.setAutomaticRecoveryEnabled(false);
        return factory;
    }
}
