package dev.courier.wire;

import static dev.courier.wire.Wire.closedBy;
import static dev.courier.wire.Wire.replyCode;
import static dev.courier.wire.Wire.replyText;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.DefaultConsumer;
import com.rabbitmq.client.ShutdownSignalException;
import dev.courier.server.CourierServer;
import dev.courier.server.ServerConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Operator limits answer with RabbitMQ's errors: connections, queues per vhost, consumers per channel. */
class LimitsTest {
    static {
        LeakTracker.install();
    }

    @TempDir
    Path dataDir;

    private CourierServer server;
    private final List<Connection> connections = new ArrayList<>();

    @AfterEach
    void stop() {
        connections.forEach(Connection::abort);
        if (server != null) {
            server.close();
        }
    }

    private void start(String key, String value) throws Exception {
        server = CourierServer.start(ServerConfig.defaults()
                .with(key, value)
                .withAmqpPort(0)
                .withHttpPort(-1)
                .withDataDir(dataDir));
    }

    private Connection connect() throws Exception {
        ConnectionFactory factory = new ConnectionFactory();
        factory.setPort(server.amqpPort());
        factory.setAutomaticRecoveryEnabled(false);
        Connection connection = factory.newConnection();
        connections.add(connection);
        return connection;
    }

    @Test
    void shouldRefuseConnectionsBeyondMaxConnectionsWith530() throws Exception {
        start("max_connections", "2");
        Connection first = connect();
        connect();
        assertThatThrownBy(this::connect).isInstanceOf(IOException.class).satisfies(e -> {
            ShutdownSignalException signal = (ShutdownSignalException) e.getCause();
            assertThat(replyCode(signal)).isEqualTo(530);
            assertThat(replyText(signal)).contains("connection limit (2) is reached");
        });
        first.close();
        Wire.await().until(() -> {
            try {
                connect();
                return true;
            } catch (IOException e) {
                return false; // the first connection's socket may not be gone yet
            }
        });
    }

    @Test
    void shouldRefuseQueuesBeyondMaxQueuesWith406() throws Exception {
        start("max_queues", "3");
        Channel channel = connect().createChannel();
        for (int i = 0; i < 3; i++) {
            channel.queueDeclare("limited-" + i, false, false, false, null);
        }
        channel.queueDeclare("limited-0", false, false, false, null); // redeclaring is not a new queue
        ShutdownSignalException refused = closedBy(() -> channel.queueDeclare("limited-3", false, false, false, null));
        assertThat(replyCode(refused)).isEqualTo(406);
        assertThat(replyText(refused)).contains("queue limit in vhost '/' (3) is reached");

        Channel next = connect().createChannel();
        next.queueDelete("limited-1");
        next.queueDeclare("limited-3", false, false, false, null);
    }

    @Test
    void shouldCloseTheConnectionWhenAChannelExceedsItsConsumerLimit() throws Exception {
        start("consumer_max_per_channel", "2");
        Connection connection = connect();
        Channel channel = connection.createChannel();
        String queue = channel.queueDeclare().getQueue();
        channel.basicConsume(queue, true, new DefaultConsumer(channel));
        channel.basicConsume(queue, true, new DefaultConsumer(channel));
        ShutdownSignalException refused =
                closedBy(() -> channel.basicConsume(queue, true, new DefaultConsumer(channel)));
        assertThat(replyCode(refused)).isEqualTo(530);
        assertThat(replyText(refused)).contains("reached maximum (2) of consumers per channel");
    }

    @Test
    void shouldRejectNegativeLimitsInTheConfig() {
        assertThatThrownBy(() -> ServerConfig.defaults().with("max_queues", "-1"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("max_queues");
    }
}
