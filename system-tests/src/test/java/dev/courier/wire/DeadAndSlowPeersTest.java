package dev.courier.wire;

import static dev.courier.wire.Wire.await;
import static dev.courier.wire.Wire.text;
import static org.assertj.core.api.Assertions.assertThat;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.GetResponse;
import dev.courier.protocol.Amqp;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Peers that stop talking or stop reading: detected, and never allowed to make the broker buffer without bound. */
class DeadAndSlowPeersTest {
    @RegisterExtension
    static final CourierBroker broker = new CourierBroker();

    @Test
    void shouldDetectASilentPeerByHeartbeatAndRequeueItsUnackedMessages() throws Exception {
        Channel channel = broker.connect().createChannel();
        String queue = channel.queueDeclare(CourierBroker.unique("dead"), false, false, false, null)
                .getQueue();
        channel.basicPublish("", queue, null, Wire.bytes("in flight"));
        try (RawAmqpClient silent = new RawAmqpClient(broker.host(), broker.port())) {
            silent.handshake(1);
            silent.sendMethod(1, new Amqp.Channel.Open(""));
            silent.expect(Amqp.Channel.OpenOk.class);
            silent.sendMethod(1, new Amqp.Basic.Consume(queue, "victim", false, false, false, false, Map.of()));
            silent.expect(Amqp.Basic.ConsumeOk.class);
            silent.expect(Amqp.Basic.Deliver.class);
            assertThat(channel.queueDeclarePassive(queue).getMessageCount()).isZero();
            // from now on the peer sends nothing, not even heartbeats: after two missed intervals the
            // broker closes the connection and the unacked message goes back to the queue
            GetResponse[] redelivered = new GetResponse[1];
            await().atMost(Duration.ofSeconds(15))
                    .until(() -> (redelivered[0] = channel.basicGet(queue, true)) != null);
            assertThat(text(redelivered[0].getBody())).isEqualTo("in flight");
            assertThat(redelivered[0].getEnvelope().isRedeliver()).isTrue();
            assertThat(silent.closedByPeer()).isTrue();
        }
        channel.queueDelete(queue);
    }

    @Test
    void shouldKeepMessagesInTheQueueWhileAConsumerDoesNotReadItsSocket() throws Exception {
        Channel channel = broker.connect().createChannel();
        String queue = channel.queueDeclare(CourierBroker.unique("slow"), false, false, false, null)
                .getQueue();
        try (RawAmqpClient stalled = new RawAmqpClient(broker.host(), broker.port())) {
            stalled.handshake();
            stalled.sendMethod(1, new Amqp.Channel.Open(""));
            stalled.expect(Amqp.Channel.OpenOk.class);
            // an auto-ack consumer with no prefetch limit that never reads what it is sent
            stalled.sendMethod(1, new Amqp.Basic.Consume(queue, "stalled", false, true, false, false, Map.of()));
            stalled.expect(Amqp.Basic.ConsumeOk.class);
            byte[] body = new byte[10 * 1024];
            channel.confirmSelect();
            for (int i = 0; i < 20_000; i++) { // 200 MB in all
                channel.basicPublish("", queue, null, body);
            }
            channel.waitForConfirmsOrDie(60_000);
            // the broker stops handing messages to a consumer whose socket is full: most of them
            // stay in the queue instead of piling up in the broker's outbound buffers
            await().during(Duration.ofSeconds(1))
                    .atMost(Duration.ofSeconds(10))
                    .until(() -> channel.queueDeclarePassive(queue).getMessageCount() > 15_000);
        }
        channel.queueDelete(queue);
    }
}
