package dev.courier.store;

import static dev.courier.store.TestMessages.assertReadable;
import static dev.courier.store.TestMessages.await;
import static dev.courier.store.TestMessages.ids;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.stream.LongStream;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The caller's per-message attributes and stored sizes survive checkpoints, crashes and compaction. */
class AttributesTest {
    @TempDir
    Path dir;

    @TempDir
    Path crashed;

    /** A value using all 64 bits, different for every id. */
    private static long attributesOf(long messageId) {
        return (messageId * 0x9E3779B97F4A7C15L) | Long.MIN_VALUE;
    }

    private static int bodyBytesOf(long messageId) {
        return 100 + (int) (messageId % 7) * 300;
    }

    private static int storedBytesOf(long messageId) {
        return ("header-" + messageId).length() + bodyBytesOf(messageId);
    }

    private static CompletableFuture<Void> publish(MessageStore store, long messageId, StoreQueue... queues) {
        ByteBuf header = TestMessages.header(messageId);
        ByteBuf body = TestMessages.body(messageId, bodyBytesOf(messageId));
        try {
            return store.publish(messageId, attributesOf(messageId), header, body, List.of(queues));
        } finally {
            header.release();
            body.release();
        }
    }

    private static void assertAttributes(RecoveredQueue queue) {
        for (int i = 0; i < queue.messageCount(); i++) {
            long id = queue.messageId(i);
            assertThat(queue.attributes(i)).as("attributes of %d", id).isEqualTo(attributesOf(id));
            assertThat(queue.storedBytes(i)).as("stored bytes of %d", id).isEqualTo(storedBytesOf(id));
        }
    }

    @Test
    void shouldKeepAttributesThroughACheckpointAndAReopen() throws IOException {
        try (MessageStore store = MessageStore.open(dir, StoreConfig.defaults())) {
            StoreQueue a = store.queue("a");
            StoreQueue b = store.queue("b");
            for (long id = 1; id <= 20; id++) {
                publish(store, id, id % 3 == 0 ? new StoreQueue[] {a, b} : new StoreQueue[] {a});
            }
            await(store.checkpoint());
        }
        try (MessageStore store = MessageStore.open(dir, StoreConfig.defaults())) {
            assertThat(store.recoveryReport().checkpointUsed()).isTrue();
            assertThat(store.recoveryReport().recordsReplayed()).isZero();
            RecoveredQueue a = store.recovered().queues().get("a");
            RecoveredQueue b = store.recovered().queues().get("b");
            assertThat(ids(a)).isEqualTo(LongStream.rangeClosed(1, 20).boxed().toList());
            assertThat(ids(b)).containsExactly(3L, 6L, 9L, 12L, 15L, 18L);
            assertAttributes(a);
            assertAttributes(b);
            for (long id = 1; id <= 20; id++) { // fanout records are longer than the first read guesses
                assertReadable(store, id, bodyBytesOf(id));
            }
            assertThat(store.stats().messagesRead()).isEqualTo(20);
        }
    }

    @Test
    void shouldRebuildAttributesFromTheLogAfterACrashWithoutCheckpoint() throws IOException {
        try (MessageStore store = MessageStore.open(dir, StoreConfig.defaults())) {
            StoreQueue q = store.queue("q");
            StoreQueue other = store.queue("other");
            for (long id = 1; id <= 20; id++) {
                publish(store, id, id == 5 ? new StoreQueue[] {q, other} : new StoreQueue[] {q});
            }
            await(store.remove(q, 2));
            CrashImage.copy(store, crashed);
        }
        try (MessageStore store = MessageStore.open(crashed, StoreConfig.defaults())) {
            assertThat(store.recoveryReport().checkpointUsed()).isFalse();
            RecoveredQueue q = store.recovered().queues().get("q");
            assertThat(q.messageCount()).isEqualTo(19);
            assertAttributes(q);
            assertAttributes(store.recovered().queues().get("other"));
        }
    }

    @Test
    void shouldKeepAttributesWhenCompactionRelocatesMessages() throws IOException {
        StoreConfig config = TestMessages.smallSegments().withCompactionLiveRatio(0.5);
        List<Long> survivors =
                LongStream.range(0, 300).filter(id -> id % 10 == 0).boxed().toList();
        try (MessageStore store = MessageStore.open(dir, config)) {
            StoreQueue q = store.queue("q");
            for (long id = 0; id < 300; id++) {
                publish(store, id, q);
            }
            await(store.flush());
            long firstSegment = RecordFormat.segmentOf(store.locationOf(0));
            for (long id = 0; id < 300; id++) {
                if (id % 10 != 0) {
                    store.remove(q, id);
                }
            }
            await(store.flush());
            await().until(() -> RecordFormat.segmentOf(store.locationOf(0)) != firstSegment);
            await().until(() -> store.stats().messagesRelocated() >= 20);
            await(store.flush());
            CrashImage.copy(store, crashed); // RELOCATED records replayed from the log
        }
        for (Path image : List.of(dir, crashed)) {
            try (MessageStore store = MessageStore.open(image, config)) {
                RecoveredQueue q = store.recovered().queues().get("q");
                assertThat(ids(q)).isEqualTo(survivors);
                assertAttributes(q);
                for (long id : survivors) {
                    assertReadable(store, id, bodyBytesOf(id));
                }
            }
        }
    }

    @Test
    void shouldRefuseASegmentOfTheOlderFormat() throws IOException {
        try (MessageStore store = MessageStore.open(dir, StoreConfig.defaults())) {
            await(publish(store, 1, store.queue("q")));
            CrashImage.copy(store, crashed);
        }
        Files.deleteIfExists(crashed.resolve(StoreFiles.CHECKPOINT));
        try (FileChannel segment =
                FileChannel.open(CrashImage.segments(crashed).firstEntry().getValue(), StandardOpenOption.WRITE)) {
            segment.write(ByteBuffer.allocate(4).putInt(0, 1), 4);
        }
        assertThatThrownBy(
                        () -> MessageStore.open(crashed, StoreConfig.defaults()).close())
                .isInstanceOf(IOException.class)
                .hasMessageContaining("format version 1")
                .hasMessageContaining("only version " + RecordFormat.SEGMENT_VERSION);
    }

    @Test
    void shouldRefuseACheckpointOfTheOlderFormat() throws IOException {
        try (MessageStore store = MessageStore.open(dir, StoreConfig.defaults())) {
            await(publish(store, 1, store.queue("q")));
        }
        Path file = dir.resolve(StoreFiles.CHECKPOINT);
        byte[] bytes = Files.readAllBytes(file);
        ByteBuffer checkpoint = ByteBuffer.wrap(bytes);
        checkpoint.putInt(4, 1); // version 1, with a valid checksum: intact, but of the older format
        CRC32C crc = new CRC32C();
        crc.update(bytes, 0, bytes.length - 4);
        checkpoint.putInt(bytes.length - 4, (int) crc.getValue());
        Files.write(file, bytes);
        assertThatThrownBy(() -> MessageStore.open(dir, StoreConfig.defaults()).close())
                .isInstanceOf(IOException.class)
                .hasMessageContaining("format version 1 (checkpoint)");
    }
}
