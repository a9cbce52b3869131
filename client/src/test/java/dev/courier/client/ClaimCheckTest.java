package dev.courier.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Delivery;
import com.rabbitmq.client.GetResponse;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** Claim check through a real broker: the payload goes through the store, the message only names it. */
class ClaimCheckTest {
    @RegisterExtension
    static final TestBroker broker = new TestBroker();

    @TempDir
    Path storeDir;

    @Test
    void shouldSendOnlyAReferenceAndResolveThePayloadOnTheConsumer() throws Exception {
        FileSystemPayloadStore store = FileSystemPayloadStore.open(storeDir);
        ClaimCheck claimCheck = ClaimCheck.builder(store).build();
        Channel channel = broker.connect().createChannel();
        String queue = channel.queueDeclare().getQueue();
        byte[] payload = randomBytes(3 * 1024 * 1024);

        claimCheck.publish(
                channel,
                "",
                queue,
                new AMQP.BasicProperties.Builder()
                        .contentType("image/png")
                        .messageId("m-1")
                        .build(),
                payload);

        GetResponse onTheWire = getEventually(channel, queue);
        assertThat(onTheWire.getBody()).isEmpty();
        ClaimCheck.Reference reference =
                ClaimCheck.Reference.of(onTheWire.getProps()).orElseThrow();
        assertThat(reference.sizeBytes()).isEqualTo(payload.length);
        assertThat(reference.contentType()).isEqualTo("image/png");
        assertThat(reference.storeId()).isEqualTo("fs");
        assertThat(onTheWire.getProps().getMessageId()).isEqualTo("m-1");
        assertThat(Files.exists(storeDir.resolve(reference.key()))).isTrue();

        Delivery resolved = claimCheck.resolve(delivery(onTheWire));
        assertThat(resolved.getBody()).isEqualTo(payload);
        assertThat(resolved.getProperties().getContentType()).isEqualTo("image/png");
        claimCheck.ack(channel, resolved);
        assertThat(Files.exists(storeDir.resolve(reference.key())))
                .as("deleted on ack")
                .isFalse();
        assertThat(channel.queueDeclarePassive(queue).getMessageCount()).isZero();
    }

    @Test
    void shouldResolveTransparentlyInAConsumerCallbackAndDeleteAfterTheAck() throws Exception {
        FileSystemPayloadStore store = FileSystemPayloadStore.open(storeDir);
        ClaimCheck claimCheck = ClaimCheck.builder(store).build();
        Channel publisher = broker.connect().createChannel();
        String queue = sharedQueue(publisher);
        List<byte[]> received = new CopyOnWriteArrayList<>();
        Channel consumer = broker.connect().createChannel();
        consumer.basicConsume(
                queue, false, claimCheck.deliverCallback(consumer, d -> received.add(d.getBody())), tag -> {});

        byte[] first = randomBytes(1_500_000);
        byte[] second = "small but still checked".getBytes(StandardCharsets.UTF_8);
        claimCheck.publish(publisher, "", queue, null, first);
        claimCheck.publish(publisher, "", queue, null, second);

        await().until(() -> received.size() == 2);
        assertThat(received.get(0)).isEqualTo(first);
        assertThat(received.get(1)).isEqualTo(second);
        await().until(() -> storedFiles().isEmpty());
        await().until(() -> publisher.queueDeclarePassive(queue).getMessageCount() == 0);
    }

    @Test
    void shouldSendPayloadsUpToTheThresholdInline() throws Exception {
        ClaimCheck claimCheck = ClaimCheck.builder(FileSystemPayloadStore.open(storeDir))
                .thresholdBytes(1024)
                .build();
        Channel channel = broker.connect().createChannel();
        String queue = channel.queueDeclare().getQueue();

        claimCheck.publish(channel, "", queue, null, new byte[1024]);
        claimCheck.publish(channel, "", queue, null, new byte[1025]);

        GetResponse inline = getEventually(channel, queue);
        assertThat(inline.getBody()).hasSize(1024);
        assertThat(ClaimCheck.Reference.of(inline.getProps())).isEmpty();
        assertThat(claimCheck.resolve(delivery(inline)).getBody()).hasSize(1024);
        GetResponse checked = getEventually(channel, queue);
        assertThat(checked.getBody()).isEmpty();
        assertThat(claimCheck.resolve(delivery(checked)).getBody()).hasSize(1025);
    }

    @Test
    void shouldStreamAPayloadInAndOutWithoutHoldingItWhole() throws Exception {
        ClaimCheck claimCheck =
                ClaimCheck.builder(FileSystemPayloadStore.open(storeDir)).build();
        Channel channel = broker.connect().createChannel();
        String queue = channel.queueDeclare().getQueue();
        byte[] payload = randomBytes(2_000_000);

        claimCheck.publish(channel, "", queue, null, new ByteArrayInputStream(payload));

        GetResponse response = getEventually(channel, queue);
        try (InputStream in = claimCheck.openPayload(delivery(response))) {
            assertThat(in.readAllBytes()).isEqualTo(payload);
        }
    }

    @Test
    void shouldRejectAMessageWhosePayloadIsGoneAndNameTheMissingKey() throws Exception {
        FileSystemPayloadStore store = FileSystemPayloadStore.open(storeDir);
        ClaimCheck claimCheck = ClaimCheck.builder(store).build();
        Channel channel = broker.connect().createChannel();
        String dlq = channel.queueDeclare().getQueue();
        String queue = channel.queueDeclare(
                        TestBroker.unique("claims"),
                        false,
                        false,
                        true,
                        Map.of("x-dead-letter-exchange", "", "x-dead-letter-routing-key", dlq))
                .getQueue();
        AMQP.BasicProperties sent = claimCheck.publish(channel, "", queue, null, randomBytes(10_000));
        String key = ClaimCheck.Reference.of(sent).orElseThrow().key();
        store.delete(key); // e.g. swept too early

        GetResponse response = getEventually(channel, queue);
        assertThatThrownBy(() -> claimCheck.resolve(delivery(response)))
                .isInstanceOf(PayloadNotFoundException.class)
                .hasMessageContaining(key)
                .satisfies(e -> assertThat(((PayloadNotFoundException) e).key()).isEqualTo(key));
        channel.basicNack(response.getEnvelope().getDeliveryTag(), false, true);

        // the consumer callback rejects it (retrying cannot bring the payload back): dead-lettered
        List<Delivery> handled = new CopyOnWriteArrayList<>();
        Channel consumer = broker.connect().createChannel();
        consumer.basicConsume(queue, false, claimCheck.deliverCallback(consumer, handled::add), tag -> {});
        GetResponse dead = getEventually(channel, dlq);
        assertThat(ClaimCheck.Reference.of(dead.getProps()).orElseThrow().key()).isEqualTo(key);
        assertThat(handled).isEmpty();
    }

    @Test
    void shouldRefuseAPayloadThatDoesNotMatchItsReference() throws Exception {
        FileSystemPayloadStore store = FileSystemPayloadStore.open(storeDir);
        ClaimCheck claimCheck = ClaimCheck.builder(store).build();
        Channel channel = broker.connect().createChannel();
        String queue = channel.queueDeclare().getQueue();
        AMQP.BasicProperties sent = claimCheck.publish(channel, "", queue, null, randomBytes(5_000));
        String key = ClaimCheck.Reference.of(sent).orElseThrow().key();
        Files.write(storeDir.resolve(key), new byte[5_000]); // same size, other content

        GetResponse response = getEventually(channel, queue);
        assertThatThrownBy(() -> claimCheck.resolve(delivery(response)))
                .isInstanceOf(ClaimCheckException.class)
                .hasMessageContaining(key)
                .hasMessageContaining("SHA-256");
    }

    @Test
    void shouldRefuseAReferenceToAnotherStore() throws Exception {
        ClaimCheck writer = ClaimCheck.builder(FileSystemPayloadStore.open(storeDir.resolve("a"), "store-a"))
                .build();
        ClaimCheck reader = ClaimCheck.builder(FileSystemPayloadStore.open(storeDir.resolve("b"), "store-b"))
                .build();
        Channel channel = broker.connect().createChannel();
        String queue = channel.queueDeclare().getQueue();
        writer.publish(channel, "", queue, null, randomBytes(100));

        GetResponse response = getEventually(channel, queue);
        assertThatThrownBy(() -> reader.resolve(delivery(response)))
                .isInstanceOf(ClaimCheckException.class)
                .hasMessageContaining("store-a")
                .hasMessageContaining("store-b");
    }

    @Test
    void shouldKeepThePayloadWhenTheHandlerFailsAndRequeueTheMessage() throws Exception {
        ClaimCheck claimCheck =
                ClaimCheck.builder(FileSystemPayloadStore.open(storeDir)).build();
        Channel channel = broker.connect().createChannel();
        String queue = sharedQueue(channel);
        byte[] payload = randomBytes(50_000);
        AtomicInteger attempts = new AtomicInteger();
        List<Boolean> redelivered = new CopyOnWriteArrayList<>();
        Channel consumer = broker.connect().createChannel();
        consumer.basicConsume(
                queue,
                false,
                claimCheck.deliverCallback(consumer, d -> {
                    redelivered.add(d.getEnvelope().isRedeliver());
                    assertThat(d.getBody()).isEqualTo(payload);
                    if (attempts.incrementAndGet() == 1) {
                        throw new IllegalStateException("transient failure");
                    }
                }),
                tag -> {});

        claimCheck.publish(channel, "", queue, null, payload);

        await().until(() -> redelivered.size() == 2);
        assertThat(redelivered).containsExactly(false, true);
        await().until(() -> storedFiles().isEmpty());
    }

    @Test
    void shouldKeepPayloadsAfterTheAckWhenToldAndLetTheSweeperExpireThem() throws Exception {
        FileSystemPayloadStore store = FileSystemPayloadStore.open(storeDir);
        ClaimCheck claimCheck =
                ClaimCheck.builder(store).deletion(ClaimCheck.Deletion.KEEP).build();
        Channel channel = broker.connect().createChannel();
        String queue = channel.queueDeclare().getQueue();
        claimCheck.publish(channel, "", queue, null, randomBytes(1000));
        claimCheck.ack(channel, delivery(getEventually(channel, queue)));
        assertThat(storedFiles()).hasSize(1);
        Files.createFile(storeDir.resolve(".incoming-crashed.tmp")); // a write cut short by a crash

        Instant now = Instant.now();
        PayloadSweeper notYet =
                new PayloadSweeper(store, Duration.ofHours(1), Clock.fixed(now.plusSeconds(60), ZoneOffset.UTC));
        assertThat(notYet.sweepOnce()).isZero();
        PayloadSweeper expired =
                new PayloadSweeper(store, Duration.ofHours(1), Clock.fixed(now.plusSeconds(7200), ZoneOffset.UTC));
        assertThat(expired.sweepOnce()).isEqualTo(2);
        assertThat(storedFiles()).isEmpty();
    }

    @Test
    void shouldSweepPeriodicallyOnceStarted() throws Exception {
        FileSystemPayloadStore store = FileSystemPayloadStore.open(storeDir);
        store.put(new ByteArrayInputStream(new byte[10]));
        try (PayloadSweeper sweeper = new PayloadSweeper(
                        store, Duration.ZERO, Clock.offset(Clock.systemUTC(), Duration.ofMinutes(1)))
                .start(Duration.ofMillis(20))) {
            await().until(() -> storedFiles().isEmpty());
            assertThat(sweeper).isNotNull();
        }
    }

    @Test
    void shouldNeverResolveAKeyOutsideTheStoreDirectory() throws Exception {
        FileSystemPayloadStore store = FileSystemPayloadStore.open(storeDir.resolve("store"));
        Files.writeString(storeDir.resolve("secret"), "do not read");

        assertThatThrownBy(() -> store.open("../secret")).isInstanceOf(PayloadNotFoundException.class);
        assertThat(store.delete("00000000-0000-0000-0000-000000000000")).isFalse();
        assertThatThrownBy(() -> store.delete("../secret")).isInstanceOf(PayloadNotFoundException.class);
        assertThat(storeDir.resolve("secret")).exists();
    }

    @Test
    void shouldWriteAtomicallyLeavingNoTemporaryFileWhenTheSourceFails() throws Exception {
        FileSystemPayloadStore store = FileSystemPayloadStore.open(storeDir);
        InputStream failing = new InputStream() {
            private int left = 100_000;

            @Override
            public int read() throws java.io.IOException {
                if (left <= 0) {
                    throw new java.io.IOException("source broke");
                }
                left--;
                return 7;
            }

            @Override
            public int read(byte[] buffer, int offset, int length) throws java.io.IOException {
                if (left <= 0) {
                    throw new java.io.IOException("source broke");
                }
                int n = Math.min(length, left);
                java.util.Arrays.fill(buffer, offset, offset + n, (byte) 7);
                left -= n;
                return n;
            }
        };
        assertThatThrownBy(() -> store.put(failing)).hasMessage("source broke");
        try (Stream<Path> files = Files.list(storeDir)) {
            assertThat(files).isEmpty();
        }
    }

    private List<Path> storedFiles() throws java.io.IOException {
        try (Stream<Path> files = Files.list(storeDir)) {
            return files.toList();
        }
    }

    /** A queue any connection may consume from (server-named queues are exclusive). */
    static String sharedQueue(Channel channel) throws java.io.IOException {
        return channel.queueDeclare(TestBroker.unique("q"), false, false, true, null)
                .getQueue();
    }

    static Delivery delivery(GetResponse response) {
        return new Delivery(response.getEnvelope(), response.getProps(), response.getBody());
    }

    static GetResponse getEventually(Channel channel, String queue) {
        GetResponse[] holder = new GetResponse[1];
        await().until(() -> (holder[0] = channel.basicGet(queue, false)) != null);
        return holder[0];
    }

    private static byte[] randomBytes(int size) {
        byte[] bytes = new byte[size];
        new Random(size).nextBytes(bytes);
        return bytes;
    }
}
