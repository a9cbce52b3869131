package dev.courier.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.Unpooled;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ScratchTmpTest {
    @TempDir
    Path dir;

    @Test
    void deliveredThenRemoved() throws Exception {
        try (MessageStore store = MessageStore.open(dir, StoreConfig.defaults())) {
            StoreQueue q = store.queue("q");
            for (int i = 1; i <= 10; i++) {
                store.publish(i, Unpooled.wrappedBuffer(new byte[] {1}), Unpooled.wrappedBuffer(new byte[] {2}), q).get();
            }
            for (int i = 1; i <= 5; i++) {
                store.markDelivered(q, i);
                store.remove(q, i);
            }
            store.markDelivered(q, 6);
        }
        try (MessageStore store = MessageStore.open(dir, StoreConfig.defaults())) {
            RecoveredQueue q = store.recovered().queues().get("q");
            assertThat(q.messageCount()).isEqualTo(5);
            assertThat(q.messageId(0)).isEqualTo(6);
            assertThat(q.redelivered(0)).isTrue();
        }
    }
}
