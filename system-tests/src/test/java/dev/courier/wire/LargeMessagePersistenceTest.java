package dev.courier.wire;

import static dev.courier.wire.LargeMessageTest.pattern;
import static dev.courier.wire.Wire.await;
import static dev.courier.wire.Wire.getEventually;
import static org.assertj.core.api.Assertions.assertThat;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.GetResponse;
import com.rabbitmq.client.MessageProperties;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Persistent large messages on durable queues: their blobs survive a restart with their messages,
 * orphans (transient messages') are deleted at start, a blob torn by a crash is not delivered, and
 * a queue's memory window never drops a large message's reference.
 */
class LargeMessagePersistenceTest {
    static {
        LeakTracker.install();
    }

    private static final int MIB = 1024 * 1024;
    private static final int LARGE = 8 * MIB;

    @TempDir
    Path dataDir;

    private RestartableServer broker;

    @AfterEach
    void stop() {
        if (broker != null) {
            broker.close();
        }
        assertThat(LeakTracker.collectLeaks()).isEmpty();
    }

    private RestartableServer start(int memoryWindow) throws Exception {
        broker = new RestartableServer(dataDir, System::currentTimeMillis, config -> config.withHttpPort(-1)
                .with("queue_memory_window", Integer.toString(memoryWindow)));
        broker.start();
        return broker;
    }

    private List<Path> blobFiles() throws IOException {
        try (Stream<Path> files = Files.list(dataDir.resolve("store").resolve("blobs"))) {
            return files.filter(f -> f.getFileName().toString().endsWith(".blob"))
                    .sorted()
                    .toList();
        }
    }

    private Channel channel() throws Exception {
        Channel channel = broker.connect().createChannel();
        channel.confirmSelect();
        return channel;
    }

    @Test
    void shouldKeepPersistentLargeMessagesAcrossARestartAndDeleteTheirBlobsAfterAck() throws Exception {
        start(2);
        Channel channel = channel();
        channel.queueDeclare("orders", true, false, false, null);
        channel.queueDeclare("copies", true, false, false, null);
        channel.exchangeDeclare("fan", "fanout", true);
        channel.queueBind("orders", "fan", "");
        channel.queueBind("copies", "fan", "");
        for (int i = 0; i < 4; i++) { // beyond the memory window of 2
            channel.basicPublish("", "orders", MessageProperties.PERSISTENT_BASIC, pattern(100 + i, LARGE));
        }
        channel.basicPublish("fan", "", MessageProperties.PERSISTENT_BASIC, pattern(200, 3 * MIB));
        channel.basicPublish("", "orders", null, pattern(300, 2 * MIB)); // transient: gone after a restart
        channel.waitForConfirmsOrDie(30_000);
        assertThat(blobFiles()).hasSize(6);

        broker.restart();
        assertThat(blobFiles()).as("the transient message's blob is an orphan").hasSize(5);
        channel = channel();
        for (int i = 0; i < 4; i++) {
            GetResponse response = getEventually(channel, "orders", false);
            assertThat(response.getBody()).as("message %d", i).isEqualTo(pattern(100 + i, LARGE));
        }
        GetResponse fanned = getEventually(channel, "orders", false);
        assertThat(fanned.getBody()).isEqualTo(pattern(200, 3 * MIB));
        assertThat(channel.basicGet("orders", false)).isNull();
        GetResponse copy = getEventually(channel, "copies", false);
        assertThat(copy.getBody()).isEqualTo(pattern(200, 3 * MIB));
        channel.basicAck(copy.getEnvelope().getDeliveryTag(), true);
        channel.basicAck(fanned.getEnvelope().getDeliveryTag(), true); // all of "orders"
        await().atMost(30, TimeUnit.SECONDS).until(() -> blobFiles().isEmpty());

        broker.restart();
        channel = channel();
        assertThat(channel.queueDeclarePassive("orders").getMessageCount()).isZero();
        assertThat(channel.queueDeclarePassive("copies").getMessageCount()).isZero();
    }

    @Test
    void shouldDropAMessageWhoseBlobWasTornByACrashAndDeliverTheOthers() throws Exception {
        start(10_000);
        Channel channel = channel();
        channel.queueDeclare("orders", true, false, false, null);
        for (int i = 0; i < 3; i++) {
            channel.basicPublish("", "orders", MessageProperties.PERSISTENT_BASIC, pattern(400 + i, 2 * MIB));
        }
        channel.waitForConfirmsOrDie(30_000);
        broker.stop();
        List<Path> blobs = blobFiles();
        assertThat(blobs).hasSize(3);
        try (FileChannel file = FileChannel.open(blobs.get(1), StandardOpenOption.WRITE)) {
            file.truncate(MIB); // as if the machine died before the blob's fsync
        }

        broker.start();
        channel = channel();
        assertThat(getEventually(channel, "orders").getBody()).isEqualTo(pattern(400, 2 * MIB));
        assertThat(getEventually(channel, "orders").getBody()).isEqualTo(pattern(402, 2 * MIB));
        assertThat(channel.basicGet("orders", true)).isNull();
        await().atMost(30, TimeUnit.SECONDS).until(() -> blobFiles().isEmpty());
    }
}
