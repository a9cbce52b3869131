package dev.courier.system;

import static org.assertj.core.api.Assertions.assertThat;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.GetResponse;
import com.rabbitmq.client.MessageProperties;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** kill -9 during confirmed publishing: every confirmed persistent message is there after restart. */
@Tag("system")
class CrashRecoveryIT {
    @TempDir
    Path dataDir;

    @Test
    void shouldKeepEveryConfirmedMessageAcrossKillDashNine() throws Exception {
        int confirmed = 0;
        try (BrokerProcess broker = BrokerProcess.start(dataDir)) {
            ConnectionFactory factory = new ConnectionFactory();
            factory.setPort(broker.amqpPort());
            factory.setAutomaticRecoveryEnabled(false);
            Connection connection = factory.newConnection();
            Channel channel = connection.createChannel();
            channel.queueDeclare("work", true, false, false, null);
            channel.confirmSelect();
            for (int batch = 0; batch < 20; batch++) {
                for (int i = 0; i < 100; i++) {
                    channel.basicPublish(
                            "",
                            "work",
                            MessageProperties.PERSISTENT_BASIC,
                            Integer.toString(confirmed + i).getBytes(StandardCharsets.UTF_8));
                }
                channel.waitForConfirmsOrDie(10_000);
                confirmed += 100;
            }
            // a last batch still in flight when the process dies: it may or may not survive
            for (int i = 0; i < 100; i++) {
                channel.basicPublish(
                        "",
                        "work",
                        MessageProperties.PERSISTENT_BASIC,
                        Integer.toString(confirmed + i).getBytes(StandardCharsets.UTF_8));
            }
            broker.kill();
            connection.abort();
        }
        try (BrokerProcess broker = BrokerProcess.start(dataDir)) {
            ConnectionFactory factory = new ConnectionFactory();
            factory.setPort(broker.amqpPort());
            try (Connection connection = factory.newConnection()) {
                Channel channel = connection.createChannel();
                int count = channel.queueDeclarePassive("work").getMessageCount();
                assertThat(count).isBetween(confirmed, confirmed + 100);
                for (int i = 0; i < count; i++) {
                    GetResponse response = channel.basicGet("work", true);
                    assertThat(new String(response.getBody(), StandardCharsets.UTF_8))
                            .isEqualTo(Integer.toString(i));
                }
            }
            assertThat(broker.stderr()).contains("recovered");
        }
    }
}
