package dev.courier.store;

import static dev.courier.store.TestMessages.assertReadable;
import static dev.courier.store.TestMessages.await;
import static dev.courier.store.TestMessages.ids;
import static dev.courier.store.TestMessages.publish;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GroupCommitTest {
    @TempDir
    Path dir;

    private final FaultyChannels channels = new FaultyChannels();
    private final ExecutorService appenders = Executors.newFixedThreadPool(4);

    @AfterEach
    void openTheGate() {
        channels.gateForces.set(false);
        channels.forcePermits.release(1000);
        appenders.shutdownNow();
    }

    /** Makes the writer stop inside the fsync of a first record, so the test decides the next batch. */
    private void holdTheWriterInAForce(MessageStore store, StoreQueue queue, long messageId) {
        channels.gateForces.set(true);
        publish(store, messageId, 100, queue);
        await().until(() -> channels.forcesWaiting.get() == 1);
    }

    @Test
    void shouldWriteEverythingThatArrivedDuringAnFsyncInOneWriteAndOneFsync() throws Exception {
        try (MessageStore store = MessageStore.open(dir, StoreConfig.defaults(), channels)) {
            StoreQueue q = store.queue("q");
            await(store.flush());
            StoreStats before = store.stats();
            holdTheWriterInAForce(store, q, 0);

            List<Future<CompletableFuture<Void>>> submitted = new ArrayList<>();
            for (long id = 1; id <= 100; id++) {
                long messageId = id;
                submitted.add(appenders.submit(() -> publish(store, messageId, 1000, q)));
            }
            List<CompletableFuture<Void>> futures = new ArrayList<>();
            for (Future<CompletableFuture<Void>> f : submitted) {
                futures.add(f.get());
            }
            assertThat(futures).noneMatch(CompletableFuture::isDone);

            channels.forcePermits.release(); // the first batch's fsync finishes
            await().until(() -> channels.forcesWaiting.get() == 1); // the second batch's fsync started
            assertThat(futures).noneMatch(CompletableFuture::isDone);
            channels.forcePermits.release();
            CompletableFuture.allOf(futures.toArray(new CompletableFuture<?>[0]))
                    .join();

            StoreStats after = store.stats();
            assertThat(after.batchesWritten() - before.batchesWritten()).isEqualTo(2);
            assertThat(after.forces() - before.forces()).isEqualTo(2);
            assertThat(after.recordsWritten() - before.recordsWritten()).isEqualTo(101);
        }
    }

    @Test
    void shouldNotWriteAPublishWhoseMessageWasRemovedBeforeItsBatchWasWritten() throws Exception {
        CompletableFuture<Void> removal;
        CompletableFuture<Void> cancelledPublish;
        try (MessageStore store = MessageStore.open(dir, StoreConfig.defaults(), channels)) {
            StoreQueue q = store.queue("q");
            StoreQueue a = store.queue("a");
            StoreQueue b = store.queue("b");
            await(store.flush());
            holdTheWriterInAForce(store, q, 0);

            cancelledPublish = publish(store, 1, 1000, q);
            for (long id = 2; id <= 10; id++) {
                publish(store, id, 1000, q);
            }
            removal = store.remove(q, new long[] {1, 2, 3, 4, 5}, 5);
            publish(store, 11, 1000, a, b);
            store.remove(a, 11);
            publish(store, 12, 1000, q);
            store.enqueue(b, 12); // a message another queue takes over must be written
            store.remove(q, 12);

            channels.gateForces.set(false);
            channels.forcePermits.release(10);
            await(removal);
            await(cancelledPublish);
            assertThat(store.stats().recordsCancelled()).isEqualTo(5);
            assertThat(store.read(1)).isNull();
            assertReadable(store, 11, 1000);
            assertReadable(store, 12, 1000);
        }
        try (MessageStore store = MessageStore.open(dir, StoreConfig.defaults())) {
            RecoveredState recovered = store.recovered();
            assertThat(ids(recovered.queues().get("q"))).containsExactly(0L, 6L, 7L, 8L, 9L, 10L);
            assertThat(ids(recovered.queues().get("a"))).isEmpty();
            assertThat(ids(recovered.queues().get("b"))).containsExactly(11L, 12L);
        }
    }

    @Test
    void shouldCompleteFuturesOnTheCompleterThreadInSubmissionOrder() throws IOException {
        try (MessageStore store = MessageStore.open(dir, StoreConfig.defaults())) {
            StoreQueue q = store.queue("q");
            AtomicReference<String> thread = new AtomicReference<>();
            List<Long> completionOrder = new ArrayList<>();
            CompletableFuture<Void> last = null;
            for (long id = 0; id < 200; id++) {
                long messageId = id;
                last = publish(store, id, 10, q).thenRun(() -> {
                    thread.set(Thread.currentThread().getName());
                    completionOrder.add(messageId);
                });
            }
            await(last);
            assertThat(thread.get()).startsWith("courier-store-completer");
            assertThat(completionOrder)
                    .isEqualTo(LongStream.range(0, 200).boxed().toList());
        }
    }

    @Test
    void shouldKeepEveryConcurrentAppendersMessagesInItsOrder() throws Exception {
        int perThread = 2000;
        try (MessageStore store = MessageStore.open(dir, StoreConfig.defaults())) {
            List<Future<CompletableFuture<Void>>> lasts = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                StoreQueue queue = store.queue("q" + t);
                long base = t * 1_000_000L;
                lasts.add(appenders.submit(() -> {
                    CompletableFuture<Void> last = null;
                    for (long i = 0; i < perThread; i++) {
                        last = publish(store, base + i, 1024, queue);
                    }
                    return last;
                }));
            }
            for (Future<CompletableFuture<Void>> last : lasts) {
                await(last.get());
            }
            StoreStats stats = store.stats();
            assertThat(stats.liveMessages()).isEqualTo(4 * perThread);
            assertThat(stats.batchesWritten()).isLessThanOrEqualTo(stats.recordsWritten());
        }
        try (MessageStore store = MessageStore.open(dir, StoreConfig.defaults())) {
            for (int t = 0; t < 4; t++) {
                long base = t * 1_000_000L;
                assertThat(ids(store.recovered().queues().get("q" + t)))
                        .isEqualTo(
                                LongStream.range(base, base + perThread).boxed().toList());
            }
            assertReadable(store, 3_000_000L + perThread - 1, 1024);
        }
    }
}
