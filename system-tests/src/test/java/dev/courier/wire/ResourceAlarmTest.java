package dev.courier.wire;

import static dev.courier.wire.Wire.await;
import static dev.courier.wire.Wire.bytes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.rabbitmq.client.BlockedListener;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The disk-free watermark blocks publishers with connection.blocked and releases them after. */
class ResourceAlarmTest {
    @RegisterExtension
    static final CourierBroker broker = new CourierBroker();

    @Test
    void shouldBlockPublishersWhileTheDiskIsBelowItsLimitAndUnblockThemAfter() throws Exception {
        assumeThat(broker.isCourier())
                .as("changes the broker's disk limit at run time")
                .isTrue();
        Channel setup = broker.connect().createChannel();
        String queue = setup.queueDeclare(CourierBroker.unique("alarm"), false, false, true, null)
                .getQueue();
        setup.basicPublish("", queue, null, bytes("before"));

        Connection publisher = broker.connect();
        List<String> events = new CopyOnWriteArrayList<>();
        publisher.addBlockedListener(new BlockedListener() {
            @Override
            public void handleBlocked(String reason) {
                events.add("blocked: " + reason);
            }

            @Override
            public void handleUnblocked() {
                events.add("unblocked");
            }
        });
        Channel channel = publisher.createChannel();
        channel.confirmSelect();
        try {
            assertThat(node().get("disk_free_alarm").asBoolean()).isFalse();
            assertThat(metrics()).contains("courier_alarms_free_disk_space_watermark 0.0");
            broker.server().alarms().diskFreeLimitBytes(Long.MAX_VALUE);
            await().until(() -> broker.server().alarms().reason() != null);
            // operators see it as in RabbitMQ: /api/nodes and the Prometheus metrics
            JsonNode node = node();
            assertThat(node.get("disk_free_alarm").asBoolean()).isTrue();
            assertThat(node.get("mem_alarm").asBoolean()).isFalse();
            assertThat(node.get("alarm").asText()).startsWith("low on disk");
            assertThat(metrics())
                    .contains("courier_alarms_free_disk_space_watermark 1.0")
                    .contains("courier_alarms_memory_used_watermark 0.0");
            channel.basicPublish("", queue, null, bytes("during"));
            await().until(() -> !events.isEmpty());
            assertThat(events.get(0)).startsWith("blocked: low on disk");
            // consumers are not blocked: another connection still gets what is in the queue
            Channel consumer = broker.connect().createChannel();
            assertThat(Wire.text(Wire.getEventually(consumer, queue).getBody())).isEqualTo("before");
            // the blocked publisher's next message is not read while the alarm lasts
            channel.basicPublish("", queue, null, bytes("held"));
            await().during(Duration.ofMillis(300))
                    .atMost(Duration.ofSeconds(5))
                    .until(() -> consumer.queueDeclarePassive(queue).getMessageCount() <= 1);
        } finally {
            broker.server().alarms().diskFreeLimitBytes(0);
        }
        await().until(() -> events.contains("unblocked"));
        assertThat(node().get("disk_free_alarm").asBoolean()).isFalse();
        channel.waitForConfirmsOrDie(10_000);
        assertThat(setup.queueDeclarePassive(queue).getMessageCount()).isEqualTo(2);
    }

    private static String http(String path) throws Exception {
        return Wire.guestGet(broker.server().httpPort(), path);
    }

    private static JsonNode node() throws Exception {
        return new ObjectMapper().readTree(http("/api/nodes")).get(0);
    }

    private static String metrics() throws Exception {
        return http("/metrics");
    }
}
