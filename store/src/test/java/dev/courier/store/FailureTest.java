package dev.courier.store;

import static dev.courier.store.TestMessages.assertReadable;
import static dev.courier.store.TestMessages.await;
import static dev.courier.store.TestMessages.ids;
import static dev.courier.store.TestMessages.publish;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FailureTest {
    @TempDir
    Path dir;

    private final FaultyChannels channels = new FaultyChannels();

    @AfterEach
    void openTheGate() {
        channels.gateForces.set(false);
        channels.forcePermits.release(1000);
    }

    private static void assertFailed(CompletableFuture<Void> future) {
        assertThatThrownBy(future::join)
                .isInstanceOf(CompletionException.class)
                .cause()
                .isInstanceOf(StoreFailedException.class)
                .hasMessageContaining("stopped accepting writes");
    }

    @Test
    void shouldFailThePendingAndEveryLaterWriteAfterAWriteError() throws IOException {
        try (MessageStore store = MessageStore.open(dir, StoreConfig.defaults(), channels)) {
            StoreQueue q = store.queue("q");
            await(publish(store, 1, 100, q));

            channels.failWrites.set(true);
            assertFailed(publish(store, 2, 100, q));
            assertThat(store.failed()).isTrue();
            channels.failWrites.set(false);
            assertFailed(publish(store, 3, 100, q));
            assertFailed(store.putMetadata("k", new byte[1]));

            assertReadable(store, 1, 100);
            assertThat(store.read(2)).isNull();
        }
        try (MessageStore store = MessageStore.open(dir, StoreConfig.defaults())) {
            assertThat(ids(store.recovered().queues().get("q"))).containsExactly(1L);
        }
    }

    @Test
    void shouldConfirmNothingFromABatchWhoseFsyncFailed() throws IOException {
        try (MessageStore store = MessageStore.open(dir, StoreConfig.defaults(), channels)) {
            StoreQueue q = store.queue("q");
            await(store.flush());
            channels.gateForces.set(true);
            List<CompletableFuture<Void>> futures = new ArrayList<>();
            futures.add(publish(store, 0, 100, q));
            await().until(() -> channels.forcesWaiting.get() == 1);
            for (long id = 1; id < 20; id++) {
                futures.add(publish(store, id, 100, q));
            }
            channels.failForces.set(true);
            channels.gateForces.set(false);
            channels.forcePermits.release(10);

            futures.forEach(FailureTest::assertFailed);
            assertThat(store.read(0)).isNull();
        }
    }
}
