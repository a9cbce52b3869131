package dev.courier.wire;

import static dev.courier.wire.Wire.await;
import static dev.courier.wire.Wire.bytes;
import static dev.courier.wire.Wire.closedBy;
import static dev.courier.wire.Wire.replyCode;
import static dev.courier.wire.Wire.text;
import static org.assertj.core.api.Assertions.assertThat;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.DefaultConsumer;
import com.rabbitmq.client.Envelope;
import com.rabbitmq.client.GetResponse;
import com.rabbitmq.client.ShutdownSignalException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Competing consumers, prefetch, acknowledgement modes, pull consumers and server-sent cancel. */
class ConsumersTest {
    @RegisterExtension
    static final CourierBroker broker = new CourierBroker();

    /** A push consumer that records what it receives and acks nothing by itself. */
    static final class Recorder extends DefaultConsumer {
        final List<String> bodies = new CopyOnWriteArrayList<>();
        final List<Long> tags = new CopyOnWriteArrayList<>();
        final List<Boolean> redelivered = new CopyOnWriteArrayList<>();
        final AtomicReference<String> cancelledBy = new AtomicReference<>();

        Recorder(Channel channel) {
            super(channel);
        }

        @Override
        public void handleDelivery(String tag, Envelope envelope, AMQP.BasicProperties properties, byte[] body) {
            bodies.add(text(body));
            tags.add(envelope.getDeliveryTag());
            redelivered.add(envelope.isRedeliver());
        }

        @Override
        public void handleCancel(String consumerTag) {
            cancelledBy.set(consumerTag);
        }
    }

    private static String declare(Channel channel) throws IOException {
        return channel.queueDeclare(CourierBroker.unique("q"), false, false, false, null)
                .getQueue();
    }

    private static void publish(Channel channel, String queue, int count) throws Exception {
        channel.confirmSelect();
        for (int i = 0; i < count; i++) {
            channel.basicPublish("", queue, null, bytes(Integer.toString(i)));
        }
        channel.waitForConfirmsOrDie(10_000);
    }

    @Test
    void shouldShareMessagesRoundRobinAmongCompetingConsumers() throws Exception {
        Channel channel = broker.connect().createChannel();
        String queue = declare(channel);
        Channel c1 = broker.connect().createChannel();
        Channel c2 = broker.connect().createChannel();
        Recorder first = new Recorder(c1);
        Recorder second = new Recorder(c2);
        c1.basicConsume(queue, true, first);
        c2.basicConsume(queue, true, second);
        publish(channel, queue, 100);
        await().until(() -> first.bodies.size() + second.bodies.size() == 100);
        assertThat(first.bodies).hasSize(50);
        assertThat(second.bodies).hasSize(50);
        channel.queueDelete(queue);
    }

    @Test
    void shouldNotExceedThePrefetchOfAConsumer() throws Exception {
        Channel channel = broker.connect().createChannel();
        String queue = declare(channel);
        publish(channel, queue, 20);
        Channel consumerChannel = broker.connect().createChannel();
        consumerChannel.basicQos(5);
        Recorder recorder = new Recorder(consumerChannel);
        consumerChannel.basicConsume(queue, false, recorder);
        await().until(() -> recorder.bodies.size() == 5);
        assertThat(channel.queueDeclarePassive(queue).getMessageCount()).isEqualTo(15);
        consumerChannel.basicAck(recorder.tags.get(4), true);
        await().until(() -> recorder.bodies.size() == 10);
        assertThat(recorder.bodies).containsExactly("0", "1", "2", "3", "4", "5", "6", "7", "8", "9");
        assertThat(channel.queueDeclarePassive(queue).getMessageCount()).isEqualTo(10);
        channel.queueDelete(queue);
    }

    @Test
    void shouldShareAGlobalPrefetchAcrossTheChannelsConsumers() throws Exception {
        Channel channel = broker.connect().createChannel();
        String q1 = declare(channel);
        String q2 = declare(channel);
        publish(channel, q1, 10);
        publish(channel, q2, 10);
        Channel consumerChannel = broker.connect().createChannel();
        consumerChannel.basicQos(3, true);
        Recorder recorder = new Recorder(consumerChannel);
        consumerChannel.basicConsume(q1, false, recorder);
        consumerChannel.basicConsume(q2, false, recorder);
        await().until(() -> recorder.bodies.size() == 3);
        assertThat(channel.queueDeclarePassive(q1).getMessageCount()
                        + channel.queueDeclarePassive(q2).getMessageCount())
                .isEqualTo(17);
        channel.queueDelete(q1);
        channel.queueDelete(q2);
    }

    @Test
    void shouldRedeliverUnackedMessagesInOrderWhenAConsumerConnectionDies() throws Exception {
        Channel channel = broker.connect().createChannel();
        String queue = declare(channel);
        publish(channel, queue, 10);
        Connection doomed = broker.connect();
        Channel doomedChannel = doomed.createChannel();
        doomedChannel.basicQos(4);
        Recorder victim = new Recorder(doomedChannel);
        doomedChannel.basicConsume(queue, false, victim);
        await().until(() -> victim.bodies.size() == 4);
        doomedChannel.basicAck(victim.tags.get(0), false); // "0" is done
        await().until(() -> victim.bodies.size() == 5);
        doomed.abort(); // the consumer vanishes without closing cleanly

        Channel survivorChannel = broker.connect().createChannel();
        Recorder survivor = new Recorder(survivorChannel);
        survivorChannel.basicConsume(queue, true, survivor);
        await().until(() -> survivor.bodies.size() == 9);
        assertThat(survivor.bodies).containsExactly("1", "2", "3", "4", "5", "6", "7", "8", "9");
        assertThat(survivor.redelivered.subList(0, 4)).containsOnly(true);
        assertThat(survivor.redelivered.subList(4, 9)).containsOnly(false);
        channel.queueDelete(queue);
    }

    /**
     * Deliveries the queue handed out while the channel was closing are given back, each exactly
     * once: a regression test for a delivery released twice on that path, which left the
     * requeued message unreadable and the queue stuck. Each round acks and closes at once, so the
     * ack's freed credit sends the next message towards a channel that is about to close.
     */
    @Test
    void shouldRequeueDeliveriesStillInFlightWhenTheChannelCloses() throws Exception {
        Channel channel = broker.connect().createChannel();
        String queue = declare(channel);
        int messages = 200;
        int rounds = 100;
        publish(channel, queue, messages);
        Connection consumers = broker.connect();
        for (int round = 0; round < rounds; round++) {
            Channel closing = consumers.createChannel();
            closing.basicQos(1);
            Recorder recorder = new Recorder(closing);
            closing.basicConsume(queue, false, recorder);
            await().until(() -> !recorder.tags.isEmpty());
            closing.basicAck(recorder.tags.get(0), false);
            closing.close();
        }

        Channel reader = broker.connect().createChannel();
        Recorder survivor = new Recorder(reader);
        reader.basicConsume(queue, true, survivor);
        await().until(() -> survivor.bodies.size() == messages - rounds);
        assertThat(survivor.bodies).doesNotHaveDuplicates();
        assertThat(channel.queueDeclarePassive(queue).getMessageCount()).isZero();
        channel.queueDelete(queue);
    }

    @Test
    void shouldPreferHigherPriorityConsumers() throws Exception {
        Channel channel = broker.connect().createChannel();
        String queue = declare(channel);
        Channel lowChannel = broker.connect().createChannel();
        Channel highChannel = broker.connect().createChannel();
        Recorder low = new Recorder(lowChannel);
        Recorder high = new Recorder(highChannel);
        lowChannel.basicConsume(queue, true, "", false, false, Map.of("x-priority", 1), low);
        highChannel.basicConsume(queue, true, "", false, false, Map.of("x-priority", 10), high);
        publish(channel, queue, 20);
        await().until(() -> low.bodies.size() + high.bodies.size() == 20);
        assertThat(high.bodies).hasSize(20);
        channel.queueDelete(queue);
    }

    @Test
    void shouldAckNackRejectAndRecover() throws Exception {
        Channel channel = broker.connect().createChannel();
        String queue = declare(channel);
        publish(channel, queue, 6);
        Channel consumerChannel = broker.connect().createChannel();
        Recorder recorder = new Recorder(consumerChannel);
        consumerChannel.basicConsume(queue, false, recorder);
        await().until(() -> recorder.bodies.size() == 6);
        consumerChannel.basicAck(recorder.tags.get(1), true); // 0, 1
        consumerChannel.basicReject(recorder.tags.get(2), false); // 2 dropped
        consumerChannel.basicNack(recorder.tags.get(3), false, false); // 3 dropped
        consumerChannel.basicNack(recorder.tags.get(4), false, true); // 4 requeued -> redelivered
        await().until(() -> recorder.bodies.size() == 7);
        assertThat(recorder.bodies.get(6)).isEqualTo("4");
        assertThat(recorder.redelivered.get(6)).isTrue();
        consumerChannel.basicRecover(true); // 5 and the redelivered 4 come back again
        await().until(() -> recorder.bodies.size() == 9);
        assertThat(recorder.bodies.subList(7, 9)).containsExactly("4", "5");
        consumerChannel.basicAck(0, true); // 0 with multiple = everything outstanding
        await().until(() -> channel.queueDeclarePassive(queue).getMessageCount() == 0);
        consumerChannel.basicCancel(recorder.getConsumerTag());
        assertThat(channel.queueDeclarePassive(queue).getMessageCount()).isZero();
        channel.queueDelete(queue);
    }

    @Test
    void shouldCloseTheChannelWith406OnAnUnknownOrDoubleAck() throws Exception {
        Connection connection = broker.connect();
        Channel channel = connection.createChannel();
        String queue = declare(channel);
        publish(channel, queue, 1);
        GetResponse response = channel.basicGet(queue, false);
        channel.basicAck(response.getEnvelope().getDeliveryTag(), false);
        channel.basicAck(response.getEnvelope().getDeliveryTag(), false);
        ShutdownSignalException e = closedBy(() -> channel.queueDeclarePassive(queue));
        assertThat(replyCode(e)).isEqualTo(406);
        assertThat(Wire.replyText(e)).contains("unknown delivery tag");
        Channel other = connection.createChannel();
        other.basicAck(99, false);
        assertThat(replyCode(closedBy(() -> other.queueDeclarePassive(queue)))).isEqualTo(406);
        connection.createChannel().queueDelete(queue);
    }

    @Test
    void shouldPullWithBasicGetAndRequeueRejectedMessages() throws Exception {
        Channel channel = broker.connect().createChannel();
        String queue = declare(channel);
        assertThat(channel.basicGet(queue, false)).isNull();
        publish(channel, queue, 3);
        GetResponse first = channel.basicGet(queue, false);
        assertThat(text(first.getBody())).isEqualTo("0");
        assertThat(first.getMessageCount()).isEqualTo(2);
        assertThat(first.getEnvelope().isRedeliver()).isFalse();
        channel.basicReject(first.getEnvelope().getDeliveryTag(), true);
        GetResponse again = channel.basicGet(queue, false);
        assertThat(text(again.getBody())).isEqualTo("0");
        assertThat(again.getEnvelope().isRedeliver()).isTrue();
        channel.basicAck(again.getEnvelope().getDeliveryTag(), false);
        assertThat(text(channel.basicGet(queue, true).getBody())).isEqualTo("1");
        assertThat(channel.queueDeclarePassive(queue).getMessageCount()).isEqualTo(1);
        channel.queueDelete(queue);
    }

    @Test
    void shouldRequeueUnackedGetsWhenTheChannelCloses() throws Exception {
        Channel channel = broker.connect().createChannel();
        String queue = declare(channel);
        publish(channel, queue, 2);
        Channel getter = broker.connect().createChannel();
        getter.basicGet(queue, false);
        getter.basicGet(queue, false);
        getter.close();
        GetResponse response = channel.basicGet(queue, true);
        assertThat(text(response.getBody())).isEqualTo("0");
        assertThat(response.getEnvelope().isRedeliver()).isTrue();
        channel.queueDelete(queue);
    }

    @Test
    void shouldKeepUnackedMessagesOnTheChannelAfterBasicCancel() throws Exception {
        Channel channel = broker.connect().createChannel();
        String queue = declare(channel);
        publish(channel, queue, 3);
        Channel consumerChannel = broker.connect().createChannel();
        Recorder recorder = new Recorder(consumerChannel);
        String tag = consumerChannel.basicConsume(queue, false, recorder);
        await().until(() -> recorder.bodies.size() == 3);
        consumerChannel.basicCancel(tag);
        // as in RabbitMQ, the deliveries stay pending on the channel and can still be acked
        consumerChannel.basicAck(recorder.tags.get(2), true);
        assertThat(consumerChannel.queueDeclarePassive(queue).getMessageCount()).isZero();
        channel.queueDelete(queue);
    }

    @Test
    void shouldNotifyConsumersWhenTheirQueueIsDeleted() throws Exception {
        Channel channel = broker.connect().createChannel();
        String queue = declare(channel);
        Channel consumerChannel = broker.connect().createChannel();
        Recorder recorder = new Recorder(consumerChannel);
        String tag = consumerChannel.basicConsume(queue, true, recorder);
        channel.queueDelete(queue);
        await().until(() -> tag.equals(recorder.cancelledBy.get()));
        assertThat(consumerChannel.isOpen()).isTrue();
    }

    @Test
    void shouldRefuseASecondConsumerOnAnExclusivelyConsumedQueueWith403() throws Exception {
        Channel channel = broker.connect().createChannel();
        String queue = declare(channel);
        channel.basicConsume(queue, true, "", false, true, null, new DefaultConsumer(channel));
        Channel other = broker.connect().createChannel();
        ShutdownSignalException e = closedBy(() -> other.basicConsume(queue, true, new DefaultConsumer(other)));
        assertThat(replyCode(e)).isEqualTo(403);
        channel.queueDelete(queue);
    }

    @Test
    void shouldGenerateConsumerTagsAndRefuseDuplicatesWith530() throws Exception {
        Connection connection = broker.connect();
        Channel channel = connection.createChannel();
        String queue = declare(channel);
        String generated = channel.basicConsume(queue, true, new DefaultConsumer(channel));
        assertThat(generated).startsWith("amq.ctag-");
        channel.basicConsume(queue, true, "mine", new DefaultConsumer(channel));
        ShutdownSignalException e =
                closedBy(() -> channel.basicConsume(queue, true, "mine", new DefaultConsumer(channel)));
        assertThat(replyCode(e)).isEqualTo(530);
        assertThat(e.isHardError()).isTrue();
        Channel cleanup = broker.connect().createChannel();
        cleanup.queueDelete(queue);
    }

    @Test
    void shouldDeliverToAutoAckConsumersWithoutWaitingForAcks() throws Exception {
        Channel channel = broker.connect().createChannel();
        String queue = declare(channel);
        Channel consumerChannel = broker.connect().createChannel();
        consumerChannel.basicQos(1); // prefetch does not limit auto-ack consumers
        Recorder recorder = new Recorder(consumerChannel);
        consumerChannel.basicConsume(queue, true, recorder);
        publish(channel, queue, 1000);
        await().until(() -> recorder.bodies.size() == 1000);
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            expected.add(Integer.toString(i));
        }
        assertThat(recorder.bodies).isEqualTo(expected);
        assertThat(Collections.frequency(recorder.redelivered, true)).isZero();
        channel.queueDelete(queue);
    }
}
