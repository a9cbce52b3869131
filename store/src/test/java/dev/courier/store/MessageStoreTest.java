package dev.courier.store;

import static dev.courier.store.TestMessages.assertReadable;
import static dev.courier.store.TestMessages.await;
import static dev.courier.store.TestMessages.ids;
import static dev.courier.store.TestMessages.publish;
import static dev.courier.store.TestMessages.redeliveredIds;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MessageStoreTest {
    @TempDir
    Path dir;

    @Test
    void shouldReadBackAPublishedMessageOnceItsFutureCompletes() throws IOException {
        try (MessageStore store = MessageStore.open(dir, StoreConfig.defaults())) {
            StoreQueue queue = store.queue("orders");
            await(publish(store, 7, 1000, queue));
            assertReadable(store, 7, 1000);
            assertThat(store.contains(7)).isTrue();
            assertThat(store.read(8)).isNull();
        }
    }

    @Test
    void shouldStoreAFanoutMessageOnceAndKeepItUntilEveryQueueRemovedIt() throws IOException {
        try (MessageStore store = MessageStore.open(dir, StoreConfig.defaults())) {
            StoreQueue a = store.queue("a");
            StoreQueue b = store.queue("b");
            StoreQueue c = store.queue("c");
            long before = store.stats().bytesWritten();
            await(publish(store, 1, 10_000, a, b, c));
            assertThat(store.stats().bytesWritten() - before).isLessThan(10_000 + 200);

            await(store.remove(a, 1));
            await(store.remove(b, 1));
            assertReadable(store, 1, 10_000);
            await(store.remove(c, 1));
            assertThat(store.read(1)).isNull();
            assertThat(store.stats().liveMessages()).isZero();
        }
    }

    @Test
    void shouldRecoverQueuesInOrderWithRedeliveredFlagsAfterARestart() throws IOException {
        try (MessageStore store = MessageStore.open(dir, StoreConfig.defaults())) {
            StoreQueue a = store.queue("a");
            StoreQueue b = store.queue("b");
            for (long id = 10; id < 20; id++) {
                publish(store, id, 100, id % 2 == 0 ? a : b);
            }
            publish(store, 20, 100, a, b);
            store.markDelivered(a, 12);
            store.markDelivered(b, new long[] {13, 15, 20}, 3);
            store.remove(a, 14);
            await(store.enqueue(b, 16));
        }
        try (MessageStore store = MessageStore.open(dir, StoreConfig.defaults())) {
            RecoveredState recovered = store.recovered();
            RecoveredQueue a = recovered.queues().get("a");
            RecoveredQueue b = recovered.queues().get("b");
            assertThat(ids(a)).containsExactly(10L, 12L, 16L, 18L, 20L);
            assertThat(redeliveredIds(a)).containsExactly(12L);
            assertThat(ids(b)).containsExactly(11L, 13L, 15L, 17L, 19L, 20L, 16L);
            assertThat(redeliveredIds(b)).containsExactly(13L, 15L, 20L);
            assertThat(store.recoveryReport().messages()).isEqualTo(10);
            assertThat(store.recoveryReport().queueEntries()).isEqualTo(12);
            for (long id : List.of(10L, 11L, 16L, 20L)) {
                assertReadable(store, id, 100);
            }
            assertThat(store.read(14)).isNull();
            assertThat(store.nextMessageId()).isEqualTo(21);
            assertThat(store.queue("a")).isSameAs(a.queue());
        }
    }

    @Test
    void shouldRecoverQueueOrderWhenReplayingTheLogWithoutACheckpoint() throws IOException {
        try (MessageStore store = MessageStore.open(dir, StoreConfig.defaults())) {
            StoreQueue q = store.queue("q");
            for (long id = 0; id < 100; id++) {
                publish(store, id, 10, q);
            }
            for (long id = 0; id < 100; id += 3) {
                store.remove(q, id);
            }
            await(store.flush());
        }
        Files.delete(dir.resolve(StoreFiles.CHECKPOINT));
        try (MessageStore store = MessageStore.open(dir, StoreConfig.defaults())) {
            assertThat(store.recoveryReport().checkpointUsed()).isFalse();
            List<Long> expected = new ArrayList<>();
            for (long id = 0; id < 100; id++) {
                if (id % 3 != 0) {
                    expected.add(id);
                }
            }
            assertThat(ids(store.recovered().queues().get("q"))).isEqualTo(expected);
        }
    }

    @Test
    void shouldTreatEnqueueOnAQueueThatAlreadyHoldsTheMessageAsANoOp() throws IOException {
        try (MessageStore store = MessageStore.open(dir, StoreConfig.defaults())) {
            StoreQueue a = store.queue("a");
            StoreQueue b = store.queue("b");
            publish(store, 1, 10, a, b);
            store.remove(a, 1); // b now holds it as its only queue
            store.enqueue(b, 1);
            await(store.remove(b, 1));
            assertThat(store.read(1)).isNull();
        }
        try (MessageStore store = MessageStore.open(dir, StoreConfig.defaults())) {
            assertThat(ids(store.recovered().queues().get("b"))).isEmpty();
        }
    }

    @Test
    void shouldRecoverMetadataPutsAndDeletes() throws IOException {
        try (MessageStore store = MessageStore.open(dir, StoreConfig.defaults())) {
            store.putMetadata("exchange/x", bytes("direct"));
            store.putMetadata("queue/q", bytes("durable"));
            store.putMetadata("binding/x/q", bytes("rk"));
            store.putMetadata("queue/q", bytes("durable,ttl=5"));
            await(store.deleteMetadata("binding/x/q"));
        }
        try (MessageStore store = MessageStore.open(dir, StoreConfig.defaults())) {
            assertThat(store.recovered().metadata()).containsOnlyKeys("exchange/x", "queue/q");
            assertThat(new String(store.recovered().metadata().get("queue/q"), StandardCharsets.UTF_8))
                    .isEqualTo("durable,ttl=5");
        }
    }

    @Test
    void shouldDropEntriesOnPurgeAndDeleteButKeepMessagesOtherQueuesHold() throws IOException {
        try (MessageStore store = MessageStore.open(dir, StoreConfig.defaults())) {
            StoreQueue a = store.queue("a");
            StoreQueue b = store.queue("b");
            publish(store, 1, 10, a, b);
            publish(store, 2, 10, a);
            await(store.purgeQueue(a));
            publish(store, 3, 10, a);
            publish(store, 4, 10, b);
            await(store.deleteQueue(b));
            assertThat(store.read(1)).isNull();
            assertThat(store.read(4)).isNull();
            assertReadable(store, 3, 10);
        }
        try (MessageStore store = MessageStore.open(dir, StoreConfig.defaults())) {
            assertThat(store.recovered().queues()).containsOnlyKeys("a");
            assertThat(ids(store.recovered().queues().get("a"))).containsExactly(3L);
        }
    }

    @Test
    void shouldFailWritesAfterClose() throws IOException {
        MessageStore store = MessageStore.open(dir, StoreConfig.defaults());
        StoreQueue q = store.queue("q");
        store.close();
        CompletableFuture<Void> late = publish(store, 1, 10, q);
        assertThatThrownBy(late::join)
                .isInstanceOf(CompletionException.class)
                .hasCauseInstanceOf(StoreFailedException.class);
    }

    @Test
    void shouldRefuseASecondStoreOnTheSameDirectory() throws IOException {
        try (MessageStore store = MessageStore.open(dir, StoreConfig.defaults())) {
            assertThat(store.usableSpaceBytes()).isPositive();
            assertThatThrownBy(() -> MessageStore.open(dir, StoreConfig.defaults()))
                    .isInstanceOf(IOException.class)
                    .hasMessageContaining("in use");
        }
    }

    @Test
    void shouldKeepTheIndexUnderAboutSixtyFourBytesPerQueuedMessage() throws IOException {
        int count = 100_000;
        try (MessageStore store = MessageStore.open(dir, StoreConfig.defaults())) {
            StoreQueue q = store.queue("q");
            CompletableFuture<Void> last = null;
            for (long id = 0; id < count; id++) {
                last = publish(store, id, 16, q);
            }
            await(last);
            assertThat(store.stats().liveMessages()).isEqualTo(count);
            // 32-byte slots kept 37.5%..75% full: 43..86 bytes per message, ~64 at this count
            assertThat(store.indexHeapBytes() / count).isLessThanOrEqualTo(86);
        }
    }

    @Test
    void shouldStoreMessagesLargerThanABatchAndLargerThanASegment() throws IOException {
        StoreConfig config =
                StoreConfig.defaults().withSegmentSizeBytes(64 * 1024).withMaxBatchBytes(64 * 1024);
        try (MessageStore store = MessageStore.open(dir, config)) {
            StoreQueue q = store.queue("q");
            publish(store, 1, 100, q);
            publish(store, 2, 5 * 1024 * 1024, q);
            publish(store, 3, 100, q);
            await(publish(store, 4, 200_000, q));
            assertReadable(store, 2, 5 * 1024 * 1024);
            assertReadable(store, 4, 200_000);
        }
        try (MessageStore store = MessageStore.open(dir, config)) {
            assertThat(ids(store.recovered().queues().get("q"))).containsExactly(1L, 2L, 3L, 4L);
            assertReadable(store, 1, 100);
            assertReadable(store, 2, 5 * 1024 * 1024);
            assertReadable(store, 3, 100);
        }
    }

    @Test
    void shouldConfirmOnWriteAndFsyncWithinTheIntervalUnderTheBatchPolicy() throws IOException {
        StoreConfig config = StoreConfig.defaults().withFsyncBatch(5);
        try (MessageStore store = MessageStore.open(dir, config)) {
            StoreQueue q = store.queue("q");
            for (long id = 0; id < 1000; id++) {
                publish(store, id, 100, q);
            }
            await(store.flush());
            long forces = store.stats().forces();
            await(publish(store, 1000, 100, q));
            // the write is confirmed; its fsync follows within the interval without further writes
            Awaitility.await().until(() -> store.stats().forces() > forces);
        }
        try (MessageStore store = MessageStore.open(dir, config)) {
            assertThat(store.recovered().queues().get("q").messageCount()).isEqualTo(1001);
        }
    }

    @Test
    void shouldKeepReadingAMessageWhoseSegmentIsDeletedDuringTheRead() throws IOException {
        try (MessageStore store = MessageStore.open(dir, TestMessages.smallSegments())) {
            StoreQueue q = store.queue("q");
            for (long id = 0; id < 200; id++) {
                publish(store, id, 1000, q);
            }
            await(store.flush());
            // a reader holds the first segment while every message in it is removed and it is deleted
            Segment first = store.segmentForTest(RecordFormat.segmentOf(store.locationOf(0)));
            assertThat(first.retain()).isTrue();
            try {
                for (long id = 0; id < 100; id++) {
                    store.remove(q, id);
                }
                await(store.checkpoint());
                Awaitility.await().until(() -> !Files.exists(first.path));
                ByteBuffer header = ByteBuffer.allocate(RecordFormat.SEGMENT_HEADER_BYTES);
                assertThat(first.channel.read(header, 0)).isEqualTo(RecordFormat.SEGMENT_HEADER_BYTES);
            } finally {
                first.release();
            }
            assertThat(first.channel.isOpen()).isFalse();
            assertReadable(store, 150, 1000);
        }
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
