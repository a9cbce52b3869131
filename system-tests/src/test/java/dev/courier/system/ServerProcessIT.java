package dev.courier.system;

import static org.assertj.core.api.Assertions.assertThat;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.GetResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs {@code ./courier server} as a separate process, the way a user does, and talks to it. */
@Tag("system")
class ServerProcessIT {
    @TempDir
    Path dataDir;

    @Test
    void shouldServeClientsAndExitZeroOnSigterm() throws Exception {
        try (BrokerProcess broker = BrokerProcess.start(dataDir)) {
            assertThat(broker.readyLine()).contains("ready").contains("amqp=127.0.0.1:");

            ConnectionFactory factory = new ConnectionFactory();
            factory.setPort(broker.amqpPort());
            try (Connection connection = factory.newConnection();
                    Channel channel = connection.createChannel()) {
                channel.queueDeclare("hello", false, false, false, null);
                channel.confirmSelect();
                channel.basicPublish("", "hello", null, "Hello, Courier".getBytes(StandardCharsets.UTF_8));
                channel.waitForConfirmsOrDie(10_000);
                GetResponse response = channel.basicGet("hello", true);
                assertThat(new String(response.getBody(), StandardCharsets.UTF_8))
                        .isEqualTo("Hello, Courier");
            }

            assertThat(broker.terminate(30, TimeUnit.SECONDS)).isZero();
        }
    }

    @Test
    void shouldRejectAnUnknownConfigKeyWithAClearMessage() throws Exception {
        BrokerProcess.Result result = BrokerProcess.run(dataDir, "--set", "no_such_key=1");
        assertThat(result.exitCode()).isEqualTo(2);
        assertThat(result.stderr()).contains("unknown config key 'no_such_key'");
    }
}
