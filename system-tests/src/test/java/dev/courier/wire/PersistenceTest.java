package dev.courier.wire;

import static dev.courier.wire.Wire.bytes;
import static dev.courier.wire.Wire.closedBy;
import static dev.courier.wire.Wire.replyCode;
import static dev.courier.wire.Wire.text;
import static org.assertj.core.api.Assertions.assertThat;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.GetResponse;
import com.rabbitmq.client.MessageProperties;
import dev.courier.server.CourierServer;
import dev.courier.server.ServerConfig;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Durable definitions and persistent messages survive a restart; transient ones do not. */
class PersistenceTest {
    static {
        LeakTracker.install();
    }

    @TempDir
    Path dataDir;

    private CourierServer start() throws Exception {
        return CourierServer.start(
                ServerConfig.defaults().withAmqpPort(0).withHttpPort(0).withDataDir(dataDir));
    }

    private static Connection connect(CourierServer server) throws Exception {
        ConnectionFactory factory = new ConnectionFactory();
        factory.setPort(server.amqpPort());
        factory.setAutomaticRecoveryEnabled(false);
        return factory.newConnection();
    }

    @Test
    void shouldKeepDurableDefinitionsAndConfirmedPersistentMessagesAcrossARestart() throws Exception {
        try (CourierServer server = start();
                Connection connection = connect(server)) {
            Channel channel = connection.createChannel();
            channel.exchangeDeclare("orders", "topic", true);
            channel.queueDeclare("orders.eu", true, false, false, Map.of("x-max-priority", 5));
            channel.queueBind("orders.eu", "orders", "eu.#");
            channel.queueDeclare("scratch", false, false, false, null);
            channel.confirmSelect();
            for (int i = 0; i < 100; i++) {
                channel.basicPublish("orders", "eu.new", MessageProperties.PERSISTENT_BASIC, bytes("p" + i));
            }
            for (int i = 0; i < 10; i++) {
                channel.basicPublish("orders", "eu.new", MessageProperties.BASIC, bytes("t" + i));
            }
            channel.waitForConfirmsOrDie(10_000);
            for (int i = 0; i < 5; i++) {
                GetResponse response = channel.basicGet("orders.eu", false);
                channel.basicAck(response.getEnvelope().getDeliveryTag(), false);
            }
            GetResponse delivered = channel.basicGet("orders.eu", false); // delivered, never acked
            assertThat(text(delivered.getBody())).isEqualTo("p5");
            channel.queueDeclarePassive("orders.eu"); // a round trip: the ack above has been processed
        }

        try (CourierServer server = start();
                Connection connection = connect(server)) {
            Channel channel = connection.createChannel();
            AMQP.Queue.DeclareOk ok = channel.queueDeclarePassive("orders.eu");
            assertThat(ok.getMessageCount()).isEqualTo(95); // 100 persistent - 5 acked; transient ones are gone
            GetResponse first = channel.basicGet("orders.eu", true);
            assertThat(text(first.getBody())).isEqualTo("p5");
            assertThat(first.getEnvelope().isRedeliver()).isTrue();
            GetResponse second = channel.basicGet("orders.eu", true);
            assertThat(text(second.getBody())).isEqualTo("p6");
            assertThat(second.getEnvelope().isRedeliver()).isFalse();
            assertThat(second.getProps().getDeliveryMode()).isEqualTo(2);
            // the exchange, the binding and the queue's arguments came back too
            channel.confirmSelect();
            channel.basicPublish("orders", "eu.paid", MessageProperties.PERSISTENT_BASIC, bytes("after restart"));
            channel.waitForConfirmsOrDie(5_000);
            assertThat(channel.queueDeclarePassive("orders.eu").getMessageCount())
                    .isEqualTo(94);
            Channel probe = connection.createChannel();
            assertThat(replyCode(closedBy(() -> probe.queueDeclarePassive("scratch"))))
                    .isEqualTo(404);
            Channel redeclare = connection.createChannel();
            assertThat(replyCode(closedBy(() -> redeclare.queueDeclare("orders.eu", true, false, false, null))))
                    .as("arguments were restored, so a declare without them is inequivalent")
                    .isEqualTo(406);
        }
    }

    @Test
    void shouldForgetDeletedQueuesAndPurgedMessages() throws Exception {
        try (CourierServer server = start();
                Connection connection = connect(server)) {
            Channel channel = connection.createChannel();
            channel.queueDeclare("gone", true, false, false, null);
            channel.queueDeclare("purged", true, false, false, null);
            channel.confirmSelect();
            channel.basicPublish("", "gone", MessageProperties.PERSISTENT_BASIC, bytes("x"));
            channel.basicPublish("", "purged", MessageProperties.PERSISTENT_BASIC, bytes("y"));
            channel.waitForConfirmsOrDie(5_000);
            channel.queueDelete("gone");
            channel.queuePurge("purged");
        }
        try (CourierServer server = start();
                Connection connection = connect(server)) {
            Channel channel = connection.createChannel();
            assertThat(channel.queueDeclarePassive("purged").getMessageCount()).isZero();
            assertThat(replyCode(closedBy(() -> channel.queueDeclarePassive("gone"))))
                    .isEqualTo(404);
        }
    }
}
