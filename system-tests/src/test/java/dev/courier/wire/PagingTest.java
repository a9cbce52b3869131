package dev.courier.wire;

import static dev.courier.wire.Wire.await;
import static dev.courier.wire.Wire.text;
import static org.assertj.core.api.Assertions.assertThat;

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
        return CourierServer.start(ServerConfig.defaults()
                .with("queue_memory_window", Integer.toString(WINDOW))
                .withAmqpPort(0)
                .withHttpPort(0)
                .withDataDir(dataDir));
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
}
