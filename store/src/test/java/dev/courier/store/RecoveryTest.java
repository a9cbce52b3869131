package dev.courier.store;

import static dev.courier.store.TestMessages.assertReadable;
import static dev.courier.store.TestMessages.await;
import static dev.courier.store.TestMessages.ids;
import static dev.courier.store.TestMessages.publish;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RecoveryTest {
    @TempDir
    Path dir;

    @TempDir
    Path crashed;

    private static List<Long> range(long fromInclusive, long toExclusive) {
        return LongStream.range(fromInclusive, toExclusive).boxed().toList();
    }

    /** A MESSAGE record on one queue with TestMessages' 8-byte header for ids 0-9. */
    private static long recordBytes(int bodyBytes) {
        return RecordFormat.messagePrefixBytes(1) + "header-0".length() + bodyBytes;
    }

    @Test
    void shouldTruncateATornLastRecordAndKeepEverythingBeforeIt() throws IOException {
        try (MessageStore store = MessageStore.open(dir, StoreConfig.defaults())) {
            StoreQueue q = store.queue("q");
            for (long id = 0; id < 10; id++) {
                await(publish(store, id, 500, q));
            }
            CrashImage.copy(store, crashed);
        }
        Path last = CrashImage.lastSegment(crashed);
        CrashImage.truncate(last, Files.size(last) - 5);

        try (MessageStore store = MessageStore.open(crashed, StoreConfig.defaults())) {
            RecoveryReport report = store.recoveryReport();
            assertThat(report.truncatedBytes()).isEqualTo(recordBytes(500) - 5);
            assertThat(report.corruptRegions()).isEmpty();
            assertThat(ids(store.recovered().queues().get("q"))).isEqualTo(range(0, 9));
            await(publish(store, 10, 500, store.queue("q")));
        }
        try (MessageStore store = MessageStore.open(crashed, StoreConfig.defaults())) {
            List<Long> expected = new ArrayList<>(range(0, 9));
            expected.add(10L);
            assertThat(ids(store.recovered().queues().get("q"))).isEqualTo(expected);
            assertReadable(store, 10, 500);
        }
    }

    @Test
    void shouldSkipACorruptRecordInTheMiddleOfASegmentAndRecoverTheRest() throws IOException {
        long location;
        try (MessageStore store = MessageStore.open(dir, StoreConfig.defaults())) {
            StoreQueue q = store.queue("q");
            for (long id = 0; id < 10; id++) {
                await(publish(store, id, 300, q));
            }
            location = store.locationOf(5);
            CrashImage.copy(store, crashed);
        }
        Path segment = CrashImage.segments(crashed).get(RecordFormat.segmentOf(location));
        CrashImage.flipByte(segment, RecordFormat.offsetOf(location) + 100);

        try (MessageStore store = MessageStore.open(crashed, StoreConfig.defaults())) {
            RecoveryReport report = store.recoveryReport();
            assertThat(report.corruptRegions()).hasSize(1);
            RecoveryReport.CorruptRegion region = report.corruptRegions().get(0);
            assertThat(region.segmentId()).isEqualTo(RecordFormat.segmentOf(location));
            assertThat(region.offsetBytes()).isEqualTo(RecordFormat.offsetOf(location));
            assertThat(region.skippedBytes()).isEqualTo(recordBytes(300));
            List<Long> expected = new ArrayList<>(range(0, 10));
            expected.remove(5L);
            assertThat(ids(store.recovered().queues().get("q"))).isEqualTo(expected);
            assertReadable(store, 9, 300);
        }
    }

    @Test
    void shouldRollOverSegmentsAndReadMessagesFromEveryOne() throws IOException {
        try (MessageStore store = MessageStore.open(dir, TestMessages.smallSegments())) {
            StoreQueue q = store.queue("q");
            for (long id = 0; id < 300; id++) {
                publish(store, id, 1000, q);
            }
            await(store.flush());
            assertThat(store.stats().segments()).isGreaterThanOrEqualTo(4);
            for (long id = 0; id < 300; id++) {
                assertReadable(store, id, 1000);
            }
        }
        try (MessageStore store = MessageStore.open(dir, TestMessages.smallSegments())) {
            assertThat(ids(store.recovered().queues().get("q"))).isEqualTo(range(0, 300));
            assertReadable(store, 0, 1000);
            assertReadable(store, 299, 1000);
        }
    }

    @Test
    void shouldDeleteSegmentsWithoutLiveMessagesOnceACheckpointCoversThem() throws IOException {
        try (MessageStore store = MessageStore.open(dir, TestMessages.smallSegments())) {
            StoreQueue q = store.queue("q");
            for (long id = 0; id < 300; id++) {
                publish(store, id, 1000, q);
            }
            await(store.flush());
            int segmentsBefore = CrashImage.segments(dir).size();
            for (long id = 0; id < 200; id++) {
                store.remove(q, id);
            }
            await(store.checkpoint());
            await().until(() -> store.stats().segmentsDeleted() >= 2);
            await().until(() -> CrashImage.segments(dir).size() < segmentsBefore);
            for (long id = 200; id < 300; id++) {
                assertReadable(store, id, 1000);
            }
        }
        try (MessageStore store = MessageStore.open(dir, TestMessages.smallSegments())) {
            assertThat(ids(store.recovered().queues().get("q"))).isEqualTo(range(200, 300));
            assertReadable(store, 200, 1000);
        }
    }

    @Test
    void shouldReplayOnlyTheLogAfterTheCheckpoint() throws IOException {
        try (MessageStore store = MessageStore.open(dir, StoreConfig.defaults())) {
            StoreQueue q = store.queue("q");
            for (long id = 0; id < 100; id++) {
                publish(store, id, 100, q);
            }
            await(store.checkpoint());
            for (long id = 100; id < 110; id++) {
                await(publish(store, id, 100, q));
            }
            await(store.remove(q, 3));
            CrashImage.copy(store, crashed);
        }
        try (MessageStore store = MessageStore.open(crashed, StoreConfig.defaults())) {
            RecoveryReport report = store.recoveryReport();
            assertThat(report.checkpointUsed()).isTrue();
            assertThat(report.recordsReplayed()).isEqualTo(11);
            List<Long> expected = new ArrayList<>(range(0, 110));
            expected.remove(3L);
            assertThat(ids(store.recovered().queues().get("q"))).isEqualTo(expected);
            assertReadable(store, 50, 100);
            assertReadable(store, 105, 100);
        }
    }

    @Test
    void shouldReplayTheWholeLogWhenTheCheckpointIsDamaged() throws IOException {
        try (MessageStore store = MessageStore.open(dir, StoreConfig.defaults())) {
            StoreQueue q = store.queue("q");
            for (long id = 0; id < 20; id++) {
                publish(store, id, 100, q);
            }
            await(store.remove(q, 7));
        }
        Path checkpoint = dir.resolve(StoreFiles.CHECKPOINT);
        CrashImage.flipByte(checkpoint, Files.size(checkpoint) / 2);
        try (MessageStore store = MessageStore.open(dir, StoreConfig.defaults())) {
            assertThat(store.recoveryReport().checkpointUsed()).isFalse();
            List<Long> expected = new ArrayList<>(range(0, 20));
            expected.remove(7L);
            assertThat(ids(store.recovered().queues().get("q"))).isEqualTo(expected);
        }
    }

    @Test
    void shouldDropALastSegmentWhoseHeaderIsTorn() throws IOException {
        try (MessageStore store = MessageStore.open(dir, StoreConfig.defaults())) {
            await(publish(store, 1, 100, store.queue("q")));
            CrashImage.copy(store, crashed);
        }
        long next = CrashImage.segments(crashed).lastKey() + 1;
        Files.write(crashed.resolve(Segment.fileName(next)), new byte[] {0x43, 0x52});
        try (MessageStore store = MessageStore.open(crashed, StoreConfig.defaults())) {
            assertThat(store.recoveryReport().truncatedBytes()).isEqualTo(2);
            assertThat(ids(store.recovered().queues().get("q"))).containsExactly(1L);
        }
    }
}
