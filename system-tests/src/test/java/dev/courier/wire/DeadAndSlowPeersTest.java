package dev.courier.wire;

import static dev.courier.wire.Wire.await;
import static dev.courier.wire.Wire.text;
import static org.assertj.core.api.Assertions.assertThat;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.GetResponse;
import dev.courier.protocol.Amqp;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
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
        long directBefore = MemoryProbe.directBytes();
        long heapBefore = MemoryProbe.heapBytesAfterGc();
        Channel channel = broker.connect().createChannel();
        String queue = channel.queueDeclare(CourierBroker.unique("slow"), false, false, false, null)
                .getQueue();
        Channel bystander = broker.connect().createChannel();
        String bystanderQueue = bystander.queueDeclare().getQueue();
        BlockingQueue<String> bystanderGot = new LinkedBlockingQueue<>();
        bystander.basicConsume(
                bystanderQueue, true, (tag, delivery) -> bystanderGot.add(text(delivery.getBody())), tag -> {});
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
            assertThat(MemoryProbe.directBytes() + MemoryProbe.heapBytesAfterGc())
                    .as("the probe sees the queued messages (else the bound below proves nothing)")
                    .isGreaterThan(directBefore + heapBefore + 100 * MemoryProbe.MIB);
            // meanwhile a well-behaved client is served as usual: publish and consume round trips
            for (int i = 0; i < 20; i++) {
                bystander.basicPublish("", bystanderQueue, null, Wire.bytes("while stalled " + i));
                assertThat(bystanderGot.poll(10, TimeUnit.SECONDS)).isEqualTo("while stalled " + i);
            }
        }
        channel.queueDelete(queue);
        // 200 MB went through: once the queue and the stalled peer are gone, the broker's direct
        // and heap memory are back near where they started (generous bounds: pools keep some)
        await().atMost(Duration.ofSeconds(30))
                .pollInterval(Duration.ofMillis(250)) // each look collects garbage
                .untilAsserted(() -> assertThat(MemoryProbe.directBytes())
                        .as("direct memory, started at %d MiB", directBefore / MemoryProbe.MIB)
                        .isLessThan(directBefore + 64 * MemoryProbe.MIB));
        await().atMost(Duration.ofSeconds(30))
                .pollInterval(Duration.ofMillis(250)) // each look collects garbage
                .untilAsserted(() -> assertThat(MemoryProbe.heapBytesAfterGc())
                        .as("heap, started at %d MiB", heapBefore / MemoryProbe.MIB)
                        .isLessThan(heapBefore + 64 * MemoryProbe.MIB));
        bystander.basicPublish("", bystanderQueue, null, Wire.bytes("after"));
        assertThat(bystanderGot.poll(10, TimeUnit.SECONDS)).isEqualTo("after");
    }
}
