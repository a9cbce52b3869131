package dev.courier.store;

import static dev.courier.store.TestMessages.assertReadable;
import static dev.courier.store.TestMessages.await;
import static dev.courier.store.TestMessages.ids;
import static dev.courier.store.TestMessages.publish;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.LongStream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SegmentPreallocationTest {
    private static final long SEGMENT_BYTES = 64 * 1024;
    private static final int BODY_BYTES = 1000;
    private static final StoreConfig CONFIG = StoreConfig.defaults().withSegmentSizeBytes(SEGMENT_BYTES);

    @TempDir
    Path dir;

    @TempDir
    Path crashed;

    /** Publishes ids [from, to) one by one, each confirmed before the next. */
    private static void publishAll(MessageStore store, long from, long to) {
        StoreQueue q = store.queue("q");
        for (long id = from; id < to; id++) {
            await(publish(store, id, BODY_BYTES, q));
        }
    }

    /** Publishes until the active segment is one that started from a spare. */
    private static long publishIntoAPreallocatedSegment(MessageStore store) {
        long id = 0;
        while (store.stats().segmentsPreallocated() == 0 || id < 200) {
            publishAll(store, id, id + 20);
            id += 20;
            assertThat(id).as("no spare segment was used").isLessThan(20_000);
        }
        return id;
    }

    private static long zeroTailOf(Path segment) throws IOException {
        try (FileChannel channel = FileChannel.open(segment, StandardOpenOption.READ)) {
            SegmentScanner scanner = new SegmentScanner(channel, RecordFormat.SEGMENT_HEADER_BYTES, channel.size());
            while (scanner.next() == SegmentScanner.Result.RECORD) {
                // to the end
            }
            return scanner.zeroTailOffset();
        }
    }

    @Test
    void shouldFillSegmentsFromSparesAndCutEachToItsDataWhenSealed() throws IOException {
        try (MessageStore store = MessageStore.open(dir, CONFIG)) {
            long published = publishIntoAPreallocatedSegment(store);
            TreeMap<Long, Path> segments = CrashImage.segments(dir);
            Path active = segments.lastEntry().getValue();
            assertThat(Files.size(active))
                    .as("the active segment has its full size")
                    .isEqualTo(SEGMENT_BYTES);
            assertThat(zeroTailOf(active)).isPositive();
            for (Path sealed : segments.headMap(segments.lastKey()).values()) {
                assertThat(zeroTailOf(sealed)).as("%s", sealed).isEqualTo(-1);
                assertThat(Files.size(sealed)).isLessThanOrEqualTo(SEGMENT_BYTES);
            }
            for (long id = 0; id < published; id++) {
                assertReadable(store, id, BODY_BYTES);
            }
        }
    }

    @Test
    void shouldRecoverEverythingFromACrashThatLeftAZeroTail() throws IOException {
        long published;
        try (MessageStore store = MessageStore.open(dir, CONFIG)) {
            published = publishIntoAPreallocatedSegment(store);
            CrashImage.copy(store, crashed);
        }
        assertThat(zeroTailOf(CrashImage.lastSegment(crashed))).isPositive();

        try (MessageStore store = MessageStore.open(crashed, CONFIG)) {
            RecoveryReport report = store.recoveryReport();
            assertThat(report.truncatedBytes()).isZero();
            assertThat(report.corruptRegions()).isEmpty();
            assertThat(ids(store.recovered().queues().get("q")))
                    .isEqualTo(LongStream.range(0, published).boxed().toList());
            assertReadable(store, published - 1, BODY_BYTES);
            publishAll(store, published, published + 5);
        }
        try (MessageStore store = MessageStore.open(crashed, CONFIG)) {
            assertThat(store.recovered().queues().get("q").messageCount()).isEqualTo((int) published + 5);
            assertReadable(store, published + 4, BODY_BYTES);
        }
    }

    @Test
    void shouldCutTheActiveSegmentOnCloseAndUseTheSpareAtTheNextStart() throws IOException {
        try (MessageStore store = MessageStore.open(dir, CONFIG)) {
            long id = publishIntoAPreallocatedSegment(store);
            // a spare is filled once the active segment is half full; publish until one is ready
            while (!Files.exists(dir.resolve(SegmentPreallocator.READY_FILE))) {
                publishAll(store, id, id + 1);
                id++;
                assertThat(id).as("no spare was filled").isLessThan(20_000);
            }
        }
        assertThat(zeroTailOf(CrashImage.lastSegment(dir))).isEqualTo(-1);
        assertThat(Files.size(dir.resolve(SegmentPreallocator.READY_FILE))).isEqualTo(SEGMENT_BYTES);

        try (MessageStore store = MessageStore.open(dir, CONFIG)) {
            assertThat(store.stats().segmentsPreallocated()).isEqualTo(1);
            assertThat(store.recoveryReport().corruptRegions()).isEmpty();
        }
    }

    @Test
    void shouldDeleteALastSegmentThatWasMovedIntoPlaceButNeverWritten() throws IOException {
        try (MessageStore store = MessageStore.open(dir, CONFIG)) {
            publishAll(store, 0, 10);
            CrashImage.copy(store, crashed);
        }
        // a spare renamed to the next segment's name, then a crash before its header was forced
        long nextId = CrashImage.segments(crashed).lastKey() + 1;
        Path neverWritten = crashed.resolve(Segment.fileName(nextId));
        try (RandomAccessFile file = new RandomAccessFile(neverWritten.toFile(), "rw")) {
            file.setLength(SEGMENT_BYTES);
        }

        try (MessageStore store = MessageStore.open(crashed, CONFIG)) {
            RecoveryReport report = store.recoveryReport();
            assertThat(report.corruptRegions()).isEmpty();
            assertThat(report.truncatedBytes()).isZero();
            assertThat(ids(store.recovered().queues().get("q")))
                    .isEqualTo(LongStream.range(0, 10).boxed().toList());
            publishAll(store, 10, 12);
            assertReadable(store, 11, BODY_BYTES);
        }
    }

    @Test
    void shouldStillReportZeroedRecordsFollowedByDataAsDamage() throws IOException {
        long location;
        try (MessageStore store = MessageStore.open(dir, CONFIG)) {
            publishAll(store, 0, 10);
            location = store.locationOf(4);
            CrashImage.copy(store, crashed);
        }
        // bad media returning zeros for one record in the middle: not the end of the data
        Path segment = CrashImage.segments(crashed).get(RecordFormat.segmentOf(location));
        try (FileChannel channel = FileChannel.open(segment, StandardOpenOption.WRITE)) {
            channel.write(java.nio.ByteBuffer.allocate(200), RecordFormat.offsetOf(location));
        }

        try (MessageStore store = MessageStore.open(crashed, CONFIG)) {
            RecoveryReport report = store.recoveryReport();
            assertThat(report.corruptRegions()).hasSize(1);
            assertThat(report.corruptRegions().get(0).offsetBytes()).isEqualTo(RecordFormat.offsetOf(location));
            assertThat(ids(store.recovered().queues().get("q"))).containsExactly(0L, 1L, 2L, 3L, 5L, 6L, 7L, 8L, 9L);
        }
    }

    @Test
    void shouldNotFillASpareWhileTheActiveSegmentIsLessThanHalfFull() throws IOException {
        try (MessageStore store = MessageStore.open(dir, CONFIG)) {
            publishAll(store, 0, 20); // about 20 KiB of a 64 KiB segment
            await(store.flush());
            assertThat(Files.exists(dir.resolve(SegmentPreallocator.READY_FILE)))
                    .isFalse();
            assertThat(Files.exists(dir.resolve(SegmentPreallocator.FILLING_FILE)))
                    .isFalse();
            publishAll(store, 20, 40);
            Awaitility.await().until(() -> Files.exists(dir.resolve(SegmentPreallocator.READY_FILE)));
        }
    }

    @Test
    void shouldNeitherFillNorKeepSparesWhenPreallocationIsOff() throws IOException {
        StoreConfig off = CONFIG.withPreallocateSegments(false);
        try (MessageStore store = MessageStore.open(dir, CONFIG)) {
            publishAll(store, 0, 40); // past half a segment
            Awaitility.await().until(() -> Files.exists(dir.resolve(SegmentPreallocator.READY_FILE)));
        }
        try (MessageStore store = MessageStore.open(dir, off)) {
            assertThat(Files.exists(dir.resolve(SegmentPreallocator.READY_FILE)))
                    .isFalse();
            publishAll(store, 40, 200);
            assertThat(store.stats().segmentsPreallocated()).isZero();
            Map<Long, Path> segments = CrashImage.segments(dir);
            assertThat(segments).hasSizeGreaterThan(2);
            assertThat(Files.exists(dir.resolve(SegmentPreallocator.READY_FILE)))
                    .isFalse();
            assertThat(Files.exists(dir.resolve(SegmentPreallocator.FILLING_FILE)))
                    .isFalse();
        }
    }
}
