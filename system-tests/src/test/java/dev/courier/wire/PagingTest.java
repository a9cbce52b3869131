package dev.courier.wire;

import static dev.courier.wire.Wire.await;
import static dev.courier.wire.Wire.text;
import static org.assertj.core.api.Assertions.assertThat;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.GetResponse;
import com.rabbitmq.client.MessageProperties;
import dev.courier.broker.MessageQueue;
import dev.courier.server.CourierServer;
import dev.courier.server.ServerConfig;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Beyond a queue's memory window, persistent messages live on disk only and are read back in order. */
class PagingTest {
    static {
        LeakTracker.install();
    }

    private static final int WINDOW = 100;
    private static final int MESSAGES = 3_000;

    @TempDir
    Path dataDir;

    private CourierServer start() throws Exception {
        return start(System::currentTimeMillis);
    }

    private CourierServer start(LongSupplier clockMs) throws Exception {
        return CourierServer.start(
                ServerConfig.defaults()
                        .with("queue_memory_window", Integer.toString(WINDOW))
                        .withAmqpPort(0)
                        .withHttpPort(0)
                        .withDataDir(dataDir),
                clockMs);
    }

    private static Connection connect(CourierServer server) throws Exception {
        ConnectionFactory factory = new ConnectionFactory();
        factory.setPort(server.amqpPort());
        factory.setAutomaticRecoveryEnabled(false);
        return factory.newConnection();
    }

    private static byte[] body(int i) {
        byte[] body = new byte[1024];
        byte[] label = Integer.toString(i).getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(label, 0, body, 0, label.length);
        return body;
    }

    private static String label(byte[] body) {
        int end = 0;
        while (end < body.length && body[end] != 0) {
            end++;
        }
        return new String(body, 0, end, StandardCharsets.US_ASCII);
    }

    @Test
    void shouldKeepOnlyTheWindowInMemoryAndDeliverEverythingInOrder() throws Exception {
        try (CourierServer server = start();
                Connection connection = connect(server)) {
            Channel channel = connection.createChannel();
            channel.queueDeclare("backlog", true, false, false, null);
            channel.confirmSelect();
            for (int i = 0; i < MESSAGES; i++) {
                channel.basicPublish("", "backlog", MessageProperties.PERSISTENT_BASIC, body(i));
            }
            channel.waitForConfirmsOrDie(30_000);
            MessageQueue queue = server.broker().vhost("/").queue("backlog", null);
            await().until(() -> queue.residentMessageCount() <= WINDOW);
            assertThat(queue.messageCount()).isEqualTo(MESSAGES);
            for (int i = 0; i < MESSAGES / 2; i++) {
                GetResponse response = channel.basicGet("backlog", true);
                assertThat(label(response.getBody())).isEqualTo(Integer.toString(i));
            }
        }
        try (CourierServer server = start();
                Connection connection = connect(server)) {
            MessageQueue queue = server.broker().vhost("/").queue("backlog", null);
            await().until(() -> queue.messageCount() == MESSAGES / 2);
            assertThat(queue.residentMessageCount()).isLessThanOrEqualTo(WINDOW);
            Channel channel = connection.createChannel();
            for (int i = MESSAGES / 2; i < MESSAGES; i++) {
                GetResponse response = channel.basicGet("backlog", true);
                assertThat(text(response.getBody()).isEmpty()).isFalse();
                assertThat(label(response.getBody())).isEqualTo(Integer.toString(i));
            }
            assertThat(channel.basicGet("backlog", true)).isNull();
        }
    }

    /** Priority 0-9, except every 50th message asks for 200 (capped at the queue's 9). */
    private static int priorityOf(int i) {
        return i % 50 == 7 ? 200 : i % 10;
    }

    private static boolean expiresOf(int i) {
        return i % 10 == 5;
    }

    private static byte[] sizedBody(int i) {
        return Arrays.copyOf(body(i), 1000 + i % 7);
    }

    @Test
    void shouldRestoreABacklogBeyondTheWindowWithoutReadingItAndKeepPrioritiesTtlsAndSizes() throws Exception {
        AtomicLong clockMs = new AtomicLong(System.currentTimeMillis());
        Map<String, Object> arguments = Map.of(
                "x-max-priority",
                9,
                "x-dead-letter-exchange",
                "",
                "x-dead-letter-routing-key",
                "expired",
                "x-delivery-limit",
                5);
        List<Integer> kept = new ArrayList<>();
        long keptBytes = 0;
        try (CourierServer server = start(clockMs::get);
                Connection connection = connect(server)) {
            Channel channel = connection.createChannel();
            channel.queueDeclare("expired", true, false, false, null);
            channel.queueDeclare("prio", true, false, false, arguments);
            channel.confirmSelect();
            for (int i = 0; i < MESSAGES; i++) {
                AMQP.BasicProperties.Builder properties =
                        MessageProperties.PERSISTENT_BASIC.builder().priority(priorityOf(i));
                if (expiresOf(i)) {
                    properties.expiration("60000");
                } else {
                    kept.add(i);
                    keptBytes += sizedBody(i).length;
                }
                channel.basicPublish("", "prio", properties.build(), sizedBody(i));
            }
            channel.waitForConfirmsOrDie(30_000);
            MessageQueue queue = server.broker().vhost("/").queue("prio", null);
            await().until(() -> queue.residentMessageCount() <= WINDOW);
            // 20 deliveries requeued: they come back redelivered with a failed delivery counted,
            // some of them from beyond the window
            long lastTag = 0;
            for (int i = 0; i < 20; i++) {
                lastTag = channel.basicGet("prio", false).getEnvelope().getDeliveryTag();
            }
            channel.basicNack(lastTag, true, true);
            await().until(() -> queue.messageCount() == MESSAGES);
        }
        kept.sort(Comparator.comparingInt((Integer i) -> -Math.min(priorityOf(i), 9))
                .thenComparingInt(i -> i));
        clockMs.addAndGet(120_000); // the per-message TTLs ran out while the broker was down

        try (CourierServer server = start(clockMs::get);
                Connection connection = connect(server)) {
            MessageQueue queue = server.broker().vhost("/").queue("prio", null);
            MessageQueue expired = server.broker().vhost("/").queue("expired", null);
            int expiredCount = MESSAGES - kept.size();
            await().untilAsserted(() -> {
                assertThat(expired.messageCount()).isEqualTo(expiredCount);
                assertThat(queue.messageCount()).isEqualTo(kept.size());
            });
            assertThat(queue.stats().readyBytes()).isEqualTo(keptBytes);
            assertThat(queue.residentMessageCount()).isLessThanOrEqualTo(WINDOW);
            // the start-up read only the window; the expiry sweep read the expired ones to dead-letter them
            assertThat(server.storeStats().messagesRead()).isLessThanOrEqualTo(WINDOW + expiredCount);

            Channel channel = connection.createChannel();
            for (int n = 0; n < kept.size(); n++) {
                GetResponse response = channel.basicGet("prio", true);
                assertThat(label(response.getBody())).as("message %d", n).isEqualTo(Integer.toString(kept.get(n)));
                assertThat(response.getBody()).hasSize(1000 + kept.get(n) % 7);
                assertThat(response.getEnvelope().isRedeliver())
                        .as("message %d", n)
                        .isEqualTo(n < 20);
                Map<String, Object> headers = response.getProps().getHeaders();
                assertThat(headers == null ? null : headers.get("x-delivery-count"))
                        .as("message %d", n)
                        .isEqualTo(n < 20 ? 1L : null);
            }
            assertThat(channel.basicGet("prio", true)).isNull();
            assertThat(queue.stats().readyBytes()).isZero();
            for (int n = 0; n < expiredCount; n++) {
                GetResponse response = channel.basicGet("expired", true);
                assertThat(Integer.parseInt(label(response.getBody())) % 10).isEqualTo(5);
                assertThat(response.getProps().getHeaders()).containsKey("x-death");
            }
        }
    }
}
