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
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
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
    void shouldServeReadsWhileAppendsCompactionCheckpointsAndDeletionsRunConcurrently() throws Exception {
        StoreConfig config = CONFIG.withCheckpointIntervalBytes(256 * 1024);
        int count = 3000;
        try (MessageStore store = MessageStore.open(dir, config)) {
            StoreQueue q = store.queue("q");
            AtomicLong published = new AtomicLong(-1);
            AtomicReference<Throwable> readFailure = new AtomicReference<>();
            ExecutorService readers = Executors.newFixedThreadPool(2);
            AtomicBoolean done = new AtomicBoolean();
            for (int r = 0; r < 2; r++) {
                readers.execute(() -> {
                    Random random = new Random();
                    while (!done.get()) {
                        long high = published.get();
                        if (high < 10) {
                            continue;
                        }
                        long id = (random.nextLong(high) / 10) * 10; // multiples of 10 are never removed
                        try {
                            assertReadable(store, id, 1000);
                        } catch (Throwable e) {
                            readFailure.compareAndSet(null, e);
                        }
                    }
                });
            }
            for (long first = 0; first < count; first += 50) {
                CompletableFuture<Void> last = null;
                for (long id = first; id < first + 50; id++) {
                    last = publish(store, id, 1000, q);
                }
                await(last);
                published.set(first + 49); // readers only read what is known to be durable
                // removed once durable, so they are written (not cancelled) and leave dead records behind
                for (long id = first; id < first + 50; id++) {
                    if (id % 10 != 0) {
                        store.remove(q, id);
                    }
                }
            }
            await(store.flush());
            await().until(() ->
                    store.stats().segmentsDeleted() > 0 && store.stats().messagesRelocated() > 0);
            done.set(true);
            readers.shutdown();
            assertThat(readers.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
            assertThat(readFailure.get()).isNull();
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
