package dev.courier.store;

import static dev.courier.store.TestMessages.await;
import static dev.courier.store.TestMessages.publish;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A consumer that keeps up empties the active segment again and again; that must not count as a
 * dead segment (it cannot be deleted while it is being written), or every write batch triggers a
 * checkpoint with its own file and directory fsyncs. Found by the side-by-side benchmark: 400
 * checkpoints a second at 1,000 msg/s.
 */
class CheckpointRateTest {
    @TempDir
    Path dir;

    @Test
    void shouldNotCheckpointWhenOnlyTheActiveSegmentEmpties() throws Exception {
        try (MessageStore store = MessageStore.open(dir, StoreConfig.defaults())) {
            StoreQueue queue = store.queue("work");
            for (long id = 1; id <= 500; id++) {
                await(publish(store, id, 1000, queue));
                await(store.remove(queue, id)); // consumed right away: the segment's live count is 0 again
            }
            await(store.flush());
            assertThat(store.stats().checkpointsWritten())
                    .as("checkpoints for 500 publish/ack pairs in one active segment")
                    .isLessThan(5);
        }
    }

    @Test
    void shouldStillCheckpointWhenASealedSegmentDies() throws Exception {
        StoreConfig small = StoreConfig.defaults().withSegmentSizeBytes(64 * 1024);
        try (MessageStore store = MessageStore.open(dir, small)) {
            StoreQueue queue = store.queue("work");
            for (long id = 1; id <= 200; id++) { // ~200 KB: several sealed segments
                await(publish(store, id, 1000, queue));
            }
            int segmentsBefore = store.stats().segments();
            for (long id = 1; id <= 200; id++) {
                await(store.remove(queue, id));
            }
            await(publish(store, 1_000, 1000, queue)); // a write after the deaths lets housekeeping act
            await(store.checkpoint());
            assertThat(segmentsBefore).isGreaterThan(2);
            Awaitility.await()
                    .atMost(Duration.ofSeconds(10))
                    .until(() -> store.stats().segments() < segmentsBefore);
        }
    }
}
