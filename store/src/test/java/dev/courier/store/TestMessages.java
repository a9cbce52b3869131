package dev.courier.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Deterministic message contents and small helpers shared by the store tests. */
final class TestMessages {
    private TestMessages() {}

    static ByteBuf header(long messageId) {
        return Unpooled.copiedBuffer("header-" + messageId, StandardCharsets.UTF_8);
    }

    static byte[] bodyBytes(long messageId, int sizeBytes) {
        byte[] body = new byte[sizeBytes];
        long x = messageId * 0x9E3779B97F4A7C15L + 1;
        for (int i = 0; i < sizeBytes; i++) {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            body[i] = (byte) x;
        }
        return body;
    }

    static ByteBuf body(long messageId, int sizeBytes) {
        return Unpooled.wrappedBuffer(bodyBytes(messageId, sizeBytes));
    }

    static CompletableFuture<Void> publish(MessageStore store, long messageId, int sizeBytes, StoreQueue... queues) {
        ByteBuf header = header(messageId);
        ByteBuf body = body(messageId, sizeBytes);
        try {
            return store.publish(messageId, header, body, List.of(queues));
        } finally {
            header.release();
            body.release();
        }
    }

    static <T> T await(CompletableFuture<T> future) {
        return future.orTimeout(30, TimeUnit.SECONDS).join();
    }

    /** Reads a message and checks it has the contents {@link #publish} gave it. */
    static void assertReadable(MessageStore store, long messageId, int sizeBytes) {
        StoredMessage message;
        try {
            message = store.read(messageId);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        assertThat(message).as("message %d", messageId).isNotNull();
        try {
            assertThat(message.header().toString(StandardCharsets.UTF_8)).isEqualTo("header-" + messageId);
            byte[] body = new byte[message.body().readableBytes()];
            message.body().getBytes(message.body().readerIndex(), body);
            assertThat(body).isEqualTo(bodyBytes(messageId, sizeBytes));
        } finally {
            message.release();
        }
    }

    static List<Long> ids(RecoveredQueue queue) {
        List<Long> ids = new ArrayList<>();
        for (int i = 0; i < queue.messageCount(); i++) {
            ids.add(queue.messageId(i));
        }
        return ids;
    }

    static List<Long> redeliveredIds(RecoveredQueue queue) {
        List<Long> ids = new ArrayList<>();
        for (int i = 0; i < queue.messageCount(); i++) {
            if (queue.redelivered(i)) {
                ids.add(queue.messageId(i));
            }
        }
        return ids;
    }

    static StoreConfig smallSegments() {
        return StoreConfig.defaults().withSegmentSizeBytes(64 * 1024).withCheckpointIntervalBytes(0);
    }
}
