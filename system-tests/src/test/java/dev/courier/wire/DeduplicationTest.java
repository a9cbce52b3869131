package dev.courier.wire;

import static dev.courier.wire.Wire.bytes;
import static dev.courier.wire.Wire.closedBy;
import static dev.courier.wire.Wire.replyCode;
import static dev.courier.wire.Wire.replyText;
import static dev.courier.wire.Wire.text;
import static org.assertj.core.api.Assertions.assertThat;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.GetResponse;
import dev.courier.broker.QueueStats;
import dev.courier.server.CourierServer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * x-message-deduplication: a message whose key (message_id, or the x-deduplication-header header)
 * was enqueued within the window is dropped, still confirmed, and counted; the window is bounded
 * and survives a restart on durable queues.
 */
class DeduplicationTest {
    static {
        LeakTracker.install();
    }

    @TempDir
    Path dataDir;

    private final AtomicLong clock = new AtomicLong(1_700_000_000_000L);
    private RestartableServer broker;
    private CourierServer server;
    private Connection connection;

    @BeforeEach
    void setUp() {
        broker = new RestartableServer(dataDir, clock::get, config -> config.withHttpPort(-1));
    }

    @AfterEach
    void stop() {
        broker.close();
    }

    private Channel startBroker() throws Exception {
        server = broker.start();
        connection = broker.connect();
        Channel channel = connection.createChannel();
        channel.confirmSelect();
        return channel;
    }

    private void stopBroker() {
        broker.stop();
    }

    private static AMQP.BasicProperties withId(String id, boolean persistent) {
        return new AMQP.BasicProperties.Builder()
                .messageId(id)
                .deliveryMode(persistent ? 2 : 1)
                .build();
    }

    private static Map<String, Object> dedup(Object... more) {
        Map<String, Object> args = new HashMap<>();
        args.put("x-message-deduplication", true);
        for (int i = 0; i < more.length; i += 2) {
            args.put((String) more[i], more[i + 1]);
        }
        return args;
    }

    private static List<String> drain(Channel channel, String queue) throws IOException {
        List<String> bodies = new ArrayList<>();
        GetResponse response;
        while ((response = channel.basicGet(queue, true)) != null) {
            bodies.add(text(response.getBody()));
        }
        return bodies;
    }

    private long deduplicated(String queue) {
        return server.broker().vhost("/").queue(queue, null).stats().get(QueueStats.Counter.DEDUPLICATED);
    }

    @Test
    void shouldDropRepeatedMessageIdsButConfirmThem() throws Exception {
        Channel channel = startBroker();
        channel.queueDeclare("orders", false, false, false, dedup());
        channel.basicPublish("", "orders", withId("order-1", false), bytes("first"));
        channel.basicPublish("", "orders", withId("order-1", false), bytes("retry"));
        channel.basicPublish("", "orders", withId("order-1", false), bytes("retry again"));
        channel.basicPublish("", "orders", withId("order-2", false), bytes("second"));
        channel.basicPublish("", "orders", null, bytes("no id"));
        channel.basicPublish("", "orders", null, bytes("no id"));
        channel.waitForConfirmsOrDie(10_000); // duplicates are confirmed, not nacked

        assertThat(drain(channel, "orders")).containsExactly("first", "second", "no id", "no id");
        assertThat(deduplicated("orders")).isEqualTo(2);
    }

    @Test
    void shouldUseTheConfiguredHeaderAsTheKey() throws Exception {
        Channel channel = startBroker();
        channel.queueDeclare("by-header", false, false, false, dedup("x-deduplication-header", "x-order"));
        AMQP.BasicProperties a = new AMQP.BasicProperties.Builder()
                .headers(Map.of("x-order", "A"))
                .messageId("ignored-1")
                .build();
        AMQP.BasicProperties aAgain = new AMQP.BasicProperties.Builder()
                .headers(Map.of("x-order", "A"))
                .messageId("ignored-2")
                .build();
        channel.basicPublish("", "by-header", a, bytes("A"));
        channel.basicPublish("", "by-header", aAgain, bytes("A again"));
        channel.basicPublish("", "by-header", withId("fallback", false), bytes("message id used"));
        channel.basicPublish("", "by-header", withId("fallback", false), bytes("message id again"));
        channel.waitForConfirmsOrDie(10_000);
        assertThat(drain(channel, "by-header")).containsExactly("A", "message id used");
    }

    @Test
    void shouldForgetKeysAfterTheWindowAndBeyondMaxKeys() throws Exception {
        Channel channel = startBroker();
        channel.queueDeclare("windowed", false, false, false, dedup("x-deduplication-window", 1_000));
        channel.basicPublish("", "windowed", withId("k", false), bytes("one"));
        channel.waitForConfirmsOrDie(10_000);
        clock.addAndGet(500);
        channel.basicPublish("", "windowed", withId("k", false), bytes("inside the window"));
        channel.waitForConfirmsOrDie(10_000); // the broker has seen it before the clock moves on
        clock.addAndGet(600); // 1.1 s after the first
        channel.basicPublish("", "windowed", withId("k", false), bytes("after the window"));
        channel.waitForConfirmsOrDie(10_000);
        assertThat(drain(channel, "windowed")).containsExactly("one", "after the window");

        channel.queueDeclare("bounded", false, false, false, dedup("x-deduplication-max-keys", 2));
        for (String id : List.of("a", "b", "c", "a", "c")) {
            channel.basicPublish("", "bounded", withId(id, false), bytes(id));
        }
        channel.waitForConfirmsOrDie(10_000);
        assertThat(drain(channel, "bounded"))
                .as("'a' was evicted by 'c', so its retry is accepted; 'c' is still remembered")
                .containsExactly("a", "b", "c", "a");
    }

    @Test
    void shouldNotRememberAPublishTheQueueRefused() throws Exception {
        Channel channel = startBroker();
        channel.queueDeclare("full", false, false, false, dedup("x-max-length", 1, "x-overflow", "reject-publish"));
        channel.basicPublish("", "full", withId("a", false), bytes("a"));
        channel.waitForConfirmsOrDie(10_000);
        channel.basicPublish("", "full", withId("b", false), bytes("b"));
        assertThat(channel.waitForConfirms(10_000))
                .as("b is nacked: the queue is full")
                .isFalse();
        assertThat(drain(channel, "full")).containsExactly("a");
        channel.basicPublish("", "full", withId("b", false), bytes("b retried"));
        channel.waitForConfirmsOrDie(10_000);
        assertThat(drain(channel, "full")).containsExactly("b retried");
    }

    @Test
    void shouldKeepTheWindowOfADurableQueueAcrossARestart() throws Exception {
        Channel channel = startBroker();
        channel.queueDeclare("durable-dedup", true, false, false, dedup());
        channel.basicPublish("", "durable-dedup", withId("payment-7", true), bytes("pay"));
        channel.waitForConfirmsOrDie(10_000);
        assertThat(drain(channel, "durable-dedup")).containsExactly("pay"); // consumed before the restart

        stopBroker();
        clock.addAndGet(60_000);
        channel = startBroker();

        channel.basicPublish("", "durable-dedup", withId("payment-7", true), bytes("pay, retried after a crash"));
        channel.basicPublish("", "durable-dedup", withId("payment-8", true), bytes("next"));
        channel.waitForConfirmsOrDie(10_000);
        assertThat(drain(channel, "durable-dedup")).containsExactly("next");

        stopBroker();
        clock.addAndGet(61_000); // the key of payment-7 is now 121 s old: out of the default window
        channel = startBroker();
        channel.basicPublish("", "durable-dedup", withId("payment-7", true), bytes("a new payment 7"));
        channel.waitForConfirmsOrDie(10_000);
        assertThat(drain(channel, "durable-dedup")).containsExactly("a new payment 7");
    }

    @Test
    void shouldRefuseInvalidDeduplicationArguments() throws Exception {
        Channel channel = startBroker();
        var refused = closedBy(
                () -> channel.queueDeclare("bad", false, false, false, Map.of("x-message-deduplication", "yes")));
        assertThat(replyCode(refused)).isEqualTo(406);
        assertThat(replyText(refused)).contains("x-message-deduplication");
        Channel again = connection.createChannel();
        var badWindow =
                closedBy(() -> again.queueDeclare("bad", false, false, false, dedup("x-deduplication-window", 0)));
        assertThat(replyText(badWindow)).contains("x-deduplication-window");
    }
}
