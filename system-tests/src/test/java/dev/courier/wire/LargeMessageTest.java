package dev.courier.wire;

import static dev.courier.wire.Wire.await;
import static dev.courier.wire.Wire.getEventually;
import static org.assertj.core.api.Assertions.assertThat;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.DefaultConsumer;
import com.rabbitmq.client.Envelope;
import com.rabbitmq.client.GetResponse;
import com.rabbitmq.client.MessageProperties;
import com.rabbitmq.client.ReturnListener;
import dev.courier.protocol.Amqp;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Bodies above {@code large_message_threshold} (1 MiB by default) go to the store's blob area as
 * they arrive and are streamed out frame by frame: they arrive intact whatever path they take,
 * are stored once, and their blob files go away with the last reference.
 */
class LargeMessageTest {
    @RegisterExtension
    static final CourierBroker broker = new CourierBroker();

    private static final int MIB = 1024 * 1024;
    private static final int LARGE = 8 * MIB;

    static byte[] pattern(long seed, int size) {
        byte[] bytes = new byte[size];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }

    private static long blobFiles() throws IOException {
        Path blobs = broker.server().config().dataDir().resolve("store").resolve("blobs");
        try (Stream<Path> files = Files.list(blobs)) {
            return files.filter(f -> f.getFileName().toString().endsWith(".blob"))
                    .count();
        }
    }

    private static void awaitNoBlobFiles() {
        await().atMost(30, TimeUnit.SECONDS).until(() -> blobFiles() == 0);
    }

    private static Channel confirming(Connection connection) throws IOException {
        Channel channel = connection.createChannel();
        channel.confirmSelect();
        return channel;
    }

    @Test
    void shouldDeliverLargeMessagesToAConsumerByteForByte() throws Exception {
        String queue = CourierBroker.unique("large");
        Connection connection = broker.connect();
        Channel channel = confirming(connection);
        channel.queueDeclare(queue, false, false, false, null);
        for (int i = 0; i < 3; i++) {
            channel.basicPublish("", queue, null, pattern(i, LARGE));
        }
        channel.waitForConfirmsOrDie(30_000);
        assertThat(blobFiles()).isEqualTo(3);

        BlockingQueue<byte[]> received = new LinkedBlockingQueue<>();
        Channel consumer = connection.createChannel();
        consumer.basicQos(2);
        consumer.basicConsume(queue, false, new DefaultConsumer(consumer) {
            @Override
            public void handleDelivery(String tag, Envelope envelope, AMQP.BasicProperties props, byte[] body)
                    throws IOException {
                received.add(body);
                getChannel().basicAck(envelope.getDeliveryTag(), false);
            }
        });
        for (int i = 0; i < 3; i++) {
            byte[] body = received.poll(30, TimeUnit.SECONDS);
            assertThat(body).as("message %d", i).isEqualTo(pattern(i, LARGE));
        }
        awaitNoBlobFiles();
    }

    @Test
    void shouldAnswerBasicGetWithALargeMessageBetweenSmallOnes() throws Exception {
        String queue = CourierBroker.unique("get");
        Channel channel = confirming(broker.connect());
        channel.queueDeclare(queue, false, false, false, null);
        channel.basicPublish("", queue, null, Wire.bytes("before"));
        channel.basicPublish("", queue, null, pattern(42, LARGE));
        channel.basicPublish("", queue, null, Wire.bytes("after"));
        channel.waitForConfirmsOrDie(30_000);

        assertThat(Wire.text(getEventually(channel, queue).getBody())).isEqualTo("before");
        GetResponse large = getEventually(channel, queue, false);
        assertThat(large.getBody()).isEqualTo(pattern(42, LARGE));
        assertThat(large.getMessageCount()).isEqualTo(1);
        assertThat(Wire.text(getEventually(channel, queue).getBody())).isEqualTo("after");
        channel.basicAck(large.getEnvelope().getDeliveryTag(), false);
        awaitNoBlobFiles();
    }

    @Test
    void shouldStoreAFanoutOfALargeMessageOnce() throws Exception {
        String exchange = CourierBroker.unique("fan");
        Channel channel = confirming(broker.connect());
        channel.exchangeDeclare(exchange, "fanout");
        List<String> queues = List.of(
                CourierBroker.unique("f1"), CourierBroker.unique("f2"),
                CourierBroker.unique("f3"), CourierBroker.unique("f4"));
        for (String queue : queues) {
            channel.queueDeclare(queue, true, false, false, null);
            channel.queueBind(queue, exchange, "");
        }
        channel.basicPublish(exchange, "", MessageProperties.PERSISTENT_BASIC, pattern(7, LARGE));
        channel.waitForConfirmsOrDie(30_000);
        assertThat(blobFiles()).isEqualTo(1);

        for (String queue : queues) {
            GetResponse response = getEventually(channel, queue, false);
            assertThat(response.getBody()).as(queue).isEqualTo(pattern(7, LARGE));
            channel.basicAck(response.getEnvelope().getDeliveryTag(), false);
            if (!queue.equals(queues.get(queues.size() - 1))) {
                assertThat(blobFiles()).as("still held by the other queues").isEqualTo(1);
            }
        }
        awaitNoBlobFiles();
        for (String queue : queues) {
            channel.queueDelete(queue);
        }
    }

    @Test
    void shouldDeleteTheBlobOfATransientMessageOnceConsumedWithAutoAck() throws Exception {
        String queue = CourierBroker.unique("transient");
        Channel channel = confirming(broker.connect());
        channel.queueDeclare(queue, false, false, false, null);
        channel.basicPublish("", queue, null, pattern(3, 2 * MIB));
        channel.waitForConfirmsOrDie(30_000);
        assertThat(blobFiles()).isEqualTo(1);
        assertThat(getEventually(channel, queue).getBody()).isEqualTo(pattern(3, 2 * MIB));
        awaitNoBlobFiles();
    }

    @Test
    void shouldKeepInMemoryABodyOfExactlyTheThresholdAndStoreOneByteMoreAsABlob() throws Exception {
        String queue = CourierBroker.unique("threshold");
        Channel channel = confirming(broker.connect());
        channel.queueDeclare(queue, false, false, false, null);
        channel.basicPublish("", queue, null, pattern(10, MIB));
        channel.waitForConfirmsOrDie(30_000);
        assertThat(blobFiles()).isZero();
        channel.basicPublish("", queue, null, pattern(11, MIB + 1));
        channel.waitForConfirmsOrDie(30_000);
        assertThat(blobFiles()).isEqualTo(1);
        assertThat(getEventually(channel, queue).getBody()).isEqualTo(pattern(10, MIB));
        assertThat(getEventually(channel, queue).getBody()).isEqualTo(pattern(11, MIB + 1));
        awaitNoBlobFiles();
    }

    @Test
    void shouldDeliverALargeMessageIntactAfterARequeueAndAfterDeadLettering() throws Exception {
        String queue = CourierBroker.unique("work");
        String dlx = CourierBroker.unique("dlx");
        String dlq = CourierBroker.unique("dlq");
        Channel channel = confirming(broker.connect());
        channel.exchangeDeclare(dlx, "fanout");
        channel.queueDeclare(dlq, true, false, false, null);
        channel.queueBind(dlq, dlx, "");
        channel.queueDeclare(queue, true, false, false, Map.of("x-dead-letter-exchange", dlx));
        channel.basicPublish("", queue, MessageProperties.PERSISTENT_BASIC, pattern(5, LARGE));
        channel.waitForConfirmsOrDie(30_000);

        GetResponse first = getEventually(channel, queue, false);
        channel.basicReject(first.getEnvelope().getDeliveryTag(), true);
        GetResponse again = getEventually(channel, queue, false);
        assertThat(again.getEnvelope().isRedeliver()).isTrue();
        assertThat(again.getBody()).isEqualTo(pattern(5, LARGE));
        channel.basicReject(again.getEnvelope().getDeliveryTag(), false);

        GetResponse dead = getEventually(channel, dlq, false);
        assertThat(dead.getBody()).isEqualTo(pattern(5, LARGE));
        assertThat(dead.getProps().getHeaders()).containsKey("x-death");
        assertThat(blobFiles()).isEqualTo(1);
        channel.basicAck(dead.getEnvelope().getDeliveryTag(), false);
        awaitNoBlobFiles();
        channel.queueDelete(queue);
        channel.queueDelete(dlq);
    }

    @Test
    void shouldReturnAnUnroutableMandatoryLargeMessageIntact() throws Exception {
        Channel channel = confirming(broker.connect());
        BlockingQueue<byte[]> returned = new LinkedBlockingQueue<>();
        channel.addReturnListener((ReturnListener) (code, text, exchange, key, props, body) -> returned.add(body));
        channel.basicPublish("", CourierBroker.unique("nowhere"), true, null, pattern(9, 3 * MIB));
        channel.waitForConfirmsOrDie(30_000);
        assertThat(returned.poll(30, TimeUnit.SECONDS)).isEqualTo(pattern(9, 3 * MIB));
        awaitNoBlobFiles();
    }

    @Test
    void shouldPublishALargeMessageInATransactionOnlyOnCommit() throws Exception {
        String queue = CourierBroker.unique("tx");
        Channel channel = broker.connect().createChannel();
        channel.queueDeclare(queue, false, false, false, null);
        channel.txSelect();
        channel.basicPublish("", queue, null, pattern(12, 2 * MIB));
        channel.txRollback();
        awaitNoBlobFiles();
        channel.basicPublish("", queue, null, pattern(13, 2 * MIB));
        channel.txCommit();
        assertThat(getEventually(channel, queue).getBody()).isEqualTo(pattern(13, 2 * MIB));
        awaitNoBlobFiles();
    }

    @Test
    void shouldDeliverALargeReplyThroughDirectReplyTo() throws Exception {
        String requests = CourierBroker.unique("rpc");
        Channel client = broker.connect().createChannel();
        client.queueDeclare(requests, false, false, false, null);
        BlockingQueue<byte[]> replies = new LinkedBlockingQueue<>();
        client.basicConsume(
                "amq.rabbitmq.reply-to", true, (tag, delivery) -> replies.add(delivery.getBody()), tag -> {});
        client.basicPublish(
                "",
                requests,
                new AMQP.BasicProperties.Builder()
                        .replyTo("amq.rabbitmq.reply-to")
                        .build(),
                Wire.bytes("ping"));

        Channel server = broker.connect().createChannel();
        GetResponse request = getEventually(server, requests);
        server.basicPublish("", request.getProps().getReplyTo(), null, pattern(30, 3 * MIB));
        assertThat(replies.poll(30, TimeUnit.SECONDS)).isEqualTo(pattern(30, 3 * MIB));
        awaitNoBlobFiles();
    }

    @Test
    void shouldShowALargeMessageInTheManagementApiTruncatedAsAsked() throws Exception {
        String queue = CourierBroker.unique("inspect");
        Channel channel = confirming(broker.connect());
        channel.queueDeclare(queue, false, false, false, null);
        byte[] body = new byte[2 * MIB];
        java.util.Arrays.fill(body, (byte) 'x');
        channel.basicPublish("", queue, null, body);
        channel.waitForConfirmsOrDie(30_000);

        String credentials = java.util.Base64.getEncoder().encodeToString(Wire.bytes("guest:guest"));
        java.net.http.HttpResponse<String> response = java.net.http.HttpClient.newHttpClient()
                .send(
                        java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:"
                                        + broker.server().httpPort() + "/api/queues/%2F/" + queue + "/get"))
                                .header("Authorization", "Basic " + credentials)
                                .POST(java.net.http.HttpRequest.BodyPublishers.ofString(
                                        "{\"count\":1,\"ackmode\":\"ack_requeue_true\",\"encoding\":\"auto\","
                                                + "\"truncate\":10}"))
                                .build(),
                        java.net.http.HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        assertThat(response.body()).contains("\"payload\":\"xxxxxxxxxx\"", "\"payload_bytes\":" + 2 * MIB);
        await().until(() -> channel.queueDeclarePassive(queue).getMessageCount() == 1);
        assertThat(getEventually(channel, queue).getBody()).isEqualTo(body);
        awaitNoBlobFiles();
    }

    @Test
    void shouldDeleteThePartOfALargeBodyAlreadyWrittenWhenThePublisherDisconnects() throws Exception {
        String queue = CourierBroker.unique("cut");
        Channel channel = broker.connect().createChannel();
        channel.queueDeclare(queue, false, false, false, null);
        try (RawAmqpClient raw = new RawAmqpClient(broker.host(), broker.port())) {
            raw.handshake();
            raw.sendMethod(1, new Amqp.Channel.Open(""));
            raw.expect(Amqp.Channel.OpenOk.class);
            io.netty.buffer.ByteBuf frames = io.netty.buffer.Unpooled.buffer();
            dev.courier.protocol.FrameWriter.writeMethod(frames, 1, new Amqp.Basic.Publish(0, "", queue, false, false));
            dev.courier.protocol.FrameWriter.writeHeader(
                    frames, 1, LARGE, io.netty.buffer.Unpooled.buffer(2).writeShort(0));
            for (int i = 0; i < 20; i++) {
                dev.courier.protocol.FrameWriter.writeBodyFrame(
                        frames, 1, io.netty.buffer.Unpooled.wrappedBuffer(pattern(i, 64 * 1024)));
            }
            raw.send(frames);
            await().until(() -> blobFiles() == 1); // the body is being written
        } // the publisher goes away with 1.25 of 8 MiB sent
        awaitNoBlobFiles();
        assertThat(channel.queueDeclarePassive(queue).getMessageCount()).isZero();
    }

    @Test
    void shouldRequeueAndReleaseEverythingWhenAConsumerDisconnectsMidStream() throws Exception {
        String queue = CourierBroker.unique("midstream");
        Channel channel = confirming(broker.connect());
        channel.queueDeclare(queue, false, false, false, null);
        for (int i = 0; i < 4; i++) {
            channel.basicPublish("", queue, null, pattern(20 + i, LARGE));
        }
        channel.waitForConfirmsOrDie(30_000);

        // a consumer that stops reading: 32 MiB of deliveries cannot fit in the socket buffers, so
        // the broker is part-way through a body when the consumer goes away
        try (RawAmqpClient raw = new RawAmqpClient(broker.host(), broker.port())) {
            raw.handshake();
            raw.sendMethod(1, new Amqp.Channel.Open(""));
            raw.expect(Amqp.Channel.OpenOk.class);
            raw.sendMethod(1, new Amqp.Basic.Consume(0, queue, "", false, false, false, false, Map.of()));
            raw.expect(Amqp.Basic.ConsumeOk.class);
            await().until(() -> channel.queueDeclarePassive(queue).getMessageCount() == 0);
        }
        await().atMost(30, TimeUnit.SECONDS)
                .until(() -> channel.queueDeclarePassive(queue).getMessageCount() == 4);
        for (int i = 0; i < 4; i++) {
            GetResponse response = getEventually(channel, queue, false);
            assertThat(response.getEnvelope().isRedeliver()).isTrue();
            assertThat(response.getBody()).isEqualTo(pattern(20 + i, LARGE));
            channel.basicAck(response.getEnvelope().getDeliveryTag(), false);
        }
        awaitNoBlobFiles();
    }
}
