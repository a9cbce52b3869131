package dev.courier.store;

import static dev.courier.store.TestMessages.assertReadable;
import static dev.courier.store.TestMessages.await;
import static dev.courier.store.TestMessages.ids;
import static dev.courier.store.TestMessages.publish;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CompactionTest {
    @TempDir
    Path dir;

    private static final StoreConfig CONFIG = TestMessages.smallSegments().withCompactionLiveRatio(0.5);

    @Test
    void shouldMoveLiveMessagesOutOfMostlyDeadSegmentsAndDeleteThem() throws IOException {
        List<Long> survivors =
                LongStream.range(0, 300).filter(id -> id % 10 == 0).boxed().toList();
        try (MessageStore store = MessageStore.open(dir, CONFIG)) {
            StoreQueue q = store.queue("q");
            for (long id = 0; id < 300; id++) {
                publish(store, id, 1000, q);
            }
            store.markDelivered(q, 20);
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
            await(store.checkpoint());
            await().until(() -> store.stats().segmentsDeleted() >= 3);
            for (long id : survivors) {
                assertReadable(store, id, 1000);
            }
        }
        try (MessageStore store = MessageStore.open(dir, CONFIG)) {
            RecoveredQueue q = store.recovered().queues().get("q");
            assertThat(ids(q)).isEqualTo(survivors);
            assertThat(q.redelivered(2)).isTrue();
            for (long id : survivors) {
                assertReadable(store, id, 1000);
            }
        }
    }

    @Test
    void shouldNotResurrectAMessageRemovedWhileItWasBeingRelocated() throws IOException {
        try (MessageStore store = MessageStore.open(dir, CONFIG)) {
            StoreQueue q = store.queue("q");
            for (long id = 0; id < 300; id++) {
                publish(store, id, 1000, q);
            }
            for (long id = 0; id < 300; id++) {
                if (id % 10 != 0) {
                    store.remove(q, id);
                }
            }
            // remove the survivors too while compaction may be copying them
            for (long id = 0; id < 300; id += 10) {
                store.remove(q, id);
            }
            await(store.flush());
            await().until(() -> store.stats().liveMessages() == 0);
        }
        try (MessageStore store = MessageStore.open(dir, CONFIG)) {
            assertThat(ids(store.recovered().queues().get("q"))).isEmpty();
        }
    }
}
