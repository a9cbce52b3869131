package dev.courier.wire;

import static dev.courier.wire.Wire.await;
import static dev.courier.wire.Wire.bytes;
import static dev.courier.wire.Wire.closedBy;
import static dev.courier.wire.Wire.replyCode;
import static dev.courier.wire.Wire.text;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

import com.rabbitmq.client.AuthenticationFailureException;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.ConfirmListener;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.GetResponse;
import com.rabbitmq.client.Return;
import com.rabbitmq.client.ShutdownSignalException;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Publisher confirms, mandatory returns, connection-level errors, heartbeats and large bodies. */
class ConfirmsAndErrorsTest {
    @RegisterExtension
    static final CourierBroker broker = new CourierBroker();

    @Test
    void shouldConfirmEveryPublishWithAcksThatMayCoverSeveral() throws Exception {
        Channel channel = broker.connect().createChannel();
        String queue = channel.queueDeclare().getQueue();
        channel.confirmSelect();
        AtomicLong highestAcked = new AtomicLong();
        List<Long> nacked = new CopyOnWriteArrayList<>();
        channel.addConfirmListener(new ConfirmListener() {
            @Override
            public void handleAck(long deliveryTag, boolean multiple) {
                highestAcked.accumulateAndGet(deliveryTag, Math::max);
            }

            @Override
            public void handleNack(long deliveryTag, boolean multiple) {
                nacked.add(deliveryTag);
            }
        });
        for (int i = 0; i < 5_000; i++) {
            channel.basicPublish("", queue, null, bytes("m"));
        }
        channel.waitForConfirmsOrDie(10_000);
        assertThat(highestAcked.get()).isEqualTo(5_000);
        assertThat(nacked).isEmpty();
        assertThat(channel.queueDeclarePassive(queue).getMessageCount()).isEqualTo(5_000);
    }

    @Test
    void shouldReturnAnUnroutableMandatoryMessageBeforeConfirmingIt() throws Exception {
        Channel channel = broker.connect().createChannel();
        List<String> events = new CopyOnWriteArrayList<>();
        channel.addReturnListener((Return r) -> events.add("return:" + r.getReplyCode() + ":" + r.getReplyText() + ":"
                + r.getRoutingKey() + ":" + text(r.getBody())));
        channel.addConfirmListener(new ConfirmListener() {
            @Override
            public void handleAck(long deliveryTag, boolean multiple) {
                events.add("ack:" + deliveryTag);
            }

            @Override
            public void handleNack(long deliveryTag, boolean multiple) {
                events.add("nack:" + deliveryTag);
            }
        });
        channel.confirmSelect();
        channel.basicPublish("amq.direct", "nobody-listens", true, null, bytes("lost?"));
        channel.waitForConfirmsOrDie(5_000);
        await().until(() -> events.size() == 2);
        assertThat(events).containsExactly("return:312:NO_ROUTE:nobody-listens:lost?", "ack:1");
    }

    @Test
    void shouldDropUnroutableMessagesWithoutMandatory() throws Exception {
        Channel channel = broker.connect().createChannel();
        List<Return> returns = new CopyOnWriteArrayList<>();
        channel.addReturnListener(returns::add);
        channel.confirmSelect();
        channel.basicPublish("amq.direct", "nobody-listens", false, null, bytes("gone"));
        channel.waitForConfirmsOrDie(5_000);
        assertThat(returns).isEmpty();
    }

    @Test
    void shouldKeepTheConnectionAndOtherChannelsWhenOneChannelFails() throws Exception {
        Connection connection = broker.connect();
        Channel healthy = connection.createChannel();
        String queue = healthy.queueDeclare().getQueue();
        Channel failing = connection.createChannel();
        assertThat(replyCode(closedBy(() -> failing.queueDeclarePassive("no-such-queue"))))
                .isEqualTo(404);
        healthy.basicPublish("", queue, null, bytes("still here"));
        assertThat(text(Wire.getEventually(healthy, queue).getBody())).isEqualTo("still here");
    }

    @Test
    void shouldCloseOnlyTheChannelWhenTheErrorTextWouldExceedAShortString() throws Exception {
        Connection connection = broker.connect();
        Channel healthy = connection.createChannel();
        String queue = healthy.queueDeclare().getQueue();
        Channel failing = connection.createChannel();
        String longName = "q".repeat(255); // the longest queue name: "NOT_FOUND - no queue '...'" is longer

        ShutdownSignalException closed = closedBy(() -> failing.queueDeclarePassive(longName));

        assertThat(replyCode(closed)).isEqualTo(404);
        assertThat(Wire.replyText(closed)).startsWith("NOT_FOUND - no queue 'qqq");
        assertThat(Wire.replyText(closed).getBytes(java.nio.charset.StandardCharsets.UTF_8))
                .hasSizeLessThanOrEqualTo(255);
        assertThat(connection.isOpen()).isTrue();
        healthy.basicPublish("", queue, null, bytes("still here"));
        assertThat(text(Wire.getEventually(healthy, queue).getBody())).isEqualTo("still here");
    }

    @Test
    void shouldCloseTheConnectionWith540ForImmediatePublishes() throws Exception {
        Connection connection = broker.connect();
        Channel channel = connection.createChannel();
        channel.basicPublish("", "anything", false, true, null, bytes("x"));
        ShutdownSignalException e = closedBy(() -> channel.queueDeclare());
        assertThat(replyCode(e)).isEqualTo(540);
    }

    @Test
    void shouldAnnounceRabbitMqsCapabilities() throws Exception {
        Connection connection = broker.connect();
        @SuppressWarnings("unchecked")
        java.util.Map<String, Object> capabilities =
                (java.util.Map<String, Object>) connection.getServerProperties().get("capabilities");
        assertThat(capabilities)
                .containsEntry("publisher_confirms", true)
                .containsEntry("exchange_exchange_bindings", true)
                .containsEntry("basic.nack", true)
                .containsEntry("consumer_cancel_notify", true)
                .containsEntry("connection.blocked", true)
                .containsEntry("authentication_failure_close", true)
                .containsEntry("per_consumer_qos", true)
                .containsEntry("direct_reply_to", true)
                .containsEntry("consumer_priorities", true);
    }

    @Test
    void shouldRefuseWrongCredentials() {
        ConnectionFactory factory = broker.factory();
        factory.setPassword("wrong");
        assertThatThrownBy(factory::newConnection).isInstanceOf(AuthenticationFailureException.class);
    }

    @Test
    void shouldRefuseAnUnknownVirtualHost() {
        ConnectionFactory factory = broker.factory();
        factory.setVirtualHost("no-such-vhost");
        assertThatThrownBy(factory::newConnection).isInstanceOf(java.io.IOException.class);
    }

    @Test
    void shouldKeepAnIdleConnectionAliveWithHeartbeats() throws Exception {
        ConnectionFactory factory = broker.factory();
        factory.setRequestedHeartbeat(1);
        Connection connection = broker.track(factory.newConnection());
        assertThat(connection.getHeartbeat()).isEqualTo(1);
        // idle for several heartbeat intervals: both sides keep sending heartbeats
        await().during(java.time.Duration.ofMillis(3_500))
                .atMost(java.time.Duration.ofSeconds(10))
                .until(connection::isOpen);
        Channel channel = connection.createChannel();
        assertThat(channel.queueDeclare().getQueue()).startsWith("amq.gen-");
    }

    @Test
    void shouldDeliverLargeAndEmptyBodiesIntact() throws Exception {
        Channel channel = broker.connect().createChannel();
        String queue = channel.queueDeclare().getQueue();
        byte[] oneMiB = new byte[1024 * 1024];
        byte[] fiveMiB = new byte[5 * 1024 * 1024 + 17];
        new Random(1).nextBytes(oneMiB);
        new Random(2).nextBytes(fiveMiB);
        channel.confirmSelect();
        channel.basicPublish("", queue, null, oneMiB);
        channel.basicPublish("", queue, null, fiveMiB);
        channel.basicPublish("", queue, null, new byte[0]);
        channel.waitForConfirmsOrDie(10_000);
        assertThat(channel.basicGet(queue, true).getBody()).isEqualTo(oneMiB);
        assertThat(channel.basicGet(queue, true).getBody()).isEqualTo(fiveMiB);
        GetResponse empty = channel.basicGet(queue, true);
        assertThat(empty.getBody()).isEmpty();
    }

    @Test
    void shouldRefuseAMessageOverTheConfiguredMaxSizeWith406() throws Exception {
        assumeThat(broker.isCourier())
                .as("needs max_message_size configured on the broker")
                .isTrue();
        try (CourierServerForTest small = CourierServerForTest.start("max_message_size", "1024")) {
            Connection connection = small.connect();
            Channel channel = connection.createChannel();
            channel.basicPublish("", "q", null, new byte[2048]);
            ShutdownSignalException e = closedBy(() -> channel.queueDeclare());
            assertThat(replyCode(e)).isEqualTo(406);
            assertThat(Wire.replyText(e)).contains("2048").contains("1024");
            assertThat(connection.isOpen()).isTrue();
        }
    }
}
