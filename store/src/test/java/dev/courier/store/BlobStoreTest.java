package dev.courier.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BlobStoreTest {
    @TempDir
    Path dir;

    private static byte[] pattern(long seed, int size) {
        byte[] bytes = new byte[size];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }

    private static Blob write(BlobStore store, byte[] bytes, int chunkBytes) throws IOException {
        BlobWriter writer = store.newWriter();
        List<ByteBuf> chunks = new java.util.ArrayList<>();
        AtomicInteger written = new AtomicInteger();
        for (int at = 0; at < bytes.length; at += chunkBytes) {
            ByteBuf chunk = PooledByteBufAllocator.DEFAULT.directBuffer(chunkBytes);
            chunk.writeBytes(bytes, at, Math.min(chunkBytes, bytes.length - at));
            chunks.add(chunk);
            writer.append(chunk, written::incrementAndGet);
        }
        Blob blob = writer.finish().join();
        assertThat(written.get()).as("every chunk's callback ran").isEqualTo(chunks.size());
        assertThat(chunks).allSatisfy(chunk -> assertThat(chunk.refCnt()).isZero());
        return blob;
    }

    private static byte[] readBack(Blob blob) throws IOException {
        ByteBuf all = blob.readAll(PooledByteBufAllocator.DEFAULT, 0, (int) blob.sizeBytes());
        try {
            byte[] bytes = new byte[all.readableBytes()];
            all.readBytes(bytes);
            return bytes;
        } finally {
            all.release();
        }
    }

    private List<Path> blobFiles() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> f.toString().endsWith(".blob")).toList();
        }
    }

    @Test
    void shouldReadBackWhatWasWrittenChunkByChunk() throws IOException {
        try (BlobStore store = BlobStore.open(dir)) {
            byte[] bytes = pattern(1, 300_001);
            Blob blob = write(store, bytes, 65_536);
            assertThat(blob.sizeBytes()).isEqualTo(bytes.length);
            assertThat(readBack(blob)).isEqualTo(bytes);
            try (BlobReader reader = blob.reader()) {
                ByteBuf part = Unpooled.buffer(10);
                reader.read(200_000, 10, part);
                byte[] expected = new byte[10];
                System.arraycopy(bytes, 200_000, expected, 0, 10);
                assertThat(part.array()).startsWith(expected);
                assertThatThrownBy(() -> reader.read(300_000, 2, Unpooled.buffer(2)))
                        .isInstanceOf(IllegalArgumentException.class);
            }
            blob.force().get(10, TimeUnit.SECONDS);
            blob.release();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void shouldDeleteTheFileWhenTheLastReferenceIsReleased() throws IOException {
        try (BlobStore store = BlobStore.open(dir)) {
            Blob blob = write(store, pattern(2, 1000), 100);
            blob.retain();
            BlobReader reader = blob.reader();
            blob.release();
            blob.release();
            assertThat(blobFiles()).hasSize(1); // the reader still holds it
            reader.close();
            Awaitility.await().atMost(10, TimeUnit.SECONDS).until(() -> blobFiles()
                    .isEmpty());
            assertThat(store.liveCount()).isZero();
        }
    }

    @Test
    void shouldDeleteTheFileOfAnAbortedWrite() throws IOException {
        try (BlobStore store = BlobStore.open(dir)) {
            BlobWriter writer = store.newWriter();
            ByteBuf first = Unpooled.wrappedBuffer(pattern(3, 500));
            ByteBuf second = Unpooled.wrappedBuffer(pattern(4, 500));
            writer.append(first, () -> {});
            writer.append(second, () -> {});
            writer.abort();
            Awaitility.await().atMost(10, TimeUnit.SECONDS).until(() -> second.refCnt() == 0);
            Awaitility.await().atMost(10, TimeUnit.SECONDS).until(() -> blobFiles()
                    .isEmpty());
            assertThat(first.refCnt()).isZero();
        }
    }

    @Test
    void shouldKeepClaimedBlobsAndDeleteOrphansAtOpen() throws IOException {
        byte[] kept = pattern(4, 5000);
        long keptId;
        long orphanId;
        try (BlobStore store = BlobStore.open(dir)) {
            Blob a = write(store, kept, 1000);
            Blob b = write(store, pattern(5, 5000), 1000);
            keptId = a.id();
            orphanId = b.id();
            // the broker shuts down holding both: closing keeps their files
        }
        assertThat(blobFiles()).hasSize(2);
        try (BlobStore store = BlobStore.open(dir)) {
            Blob claimed = store.claim(keptId, kept.length);
            assertThat(claimed).isNotNull();
            assertThat(store.claim(keptId, kept.length)).isSameAs(claimed); // fanout: one object
            assertThat(store.deleteUnclaimed()).isEqualTo(1);
            Awaitility.await()
                    .atMost(10, TimeUnit.SECONDS)
                    .until(() -> blobFiles().size() == 1);
            assertThat(readBack(claimed)).isEqualTo(kept);
            assertThat(store.claim(orphanId, 5000)).isNull();
            // a new blob never reuses an id found at open
            Blob fresh = write(store, pattern(6, 10), 10);
            assertThat(fresh.id()).isGreaterThan(Math.max(keptId, orphanId));
            claimed.release();
            claimed.release();
            fresh.release();
            Awaitility.await().atMost(10, TimeUnit.SECONDS).until(() -> blobFiles()
                    .isEmpty());
        }
    }

    @Test
    void shouldNotUseABlobTornByACrash() throws IOException {
        long id;
        try (BlobStore store = BlobStore.open(dir)) {
            Blob blob = write(store, pattern(7, 10_000), 4096);
            id = blob.id();
        }
        // a crash before the blob's fsync: only part of it reached the disk
        Path file = dir.resolve(id + ".blob");
        byte[] partial = Files.readAllBytes(file);
        Files.write(file, java.util.Arrays.copyOf(partial, 6000));
        try (BlobStore store = BlobStore.open(dir)) {
            assertThat(store.claim(id, 10_000)).isNull();
            assertThat(store.deleteUnclaimed()).isEqualTo(1);
            Awaitility.await().atMost(10, TimeUnit.SECONDS).until(() -> blobFiles()
                    .isEmpty());
        }
    }

    @Test
    void shouldFailTheFinishOfABlobWhoseWriteFailedAndDeleteItsFile() throws IOException {
        FaultyChannels disk = new FaultyChannels();
        try (BlobStore store = BlobStore.open(dir, disk)) {
            BlobWriter writer = store.newWriter();
            java.util.concurrent.CountDownLatch firstWritten = new java.util.concurrent.CountDownLatch(1);
            writer.append(Unpooled.wrappedBuffer(pattern(9, 100)), firstWritten::countDown);
            Awaitility.await().atMost(10, TimeUnit.SECONDS).until(() -> firstWritten.getCount() == 0);
            disk.failWrites.set(true); // the disk fills up
            ByteBuf refused = Unpooled.wrappedBuffer(pattern(10, 100));
            writer.append(refused, () -> {});
            assertThatThrownBy(() -> writer.finish().join()).hasMessageContaining("No space left");
            assertThat(refused.refCnt()).isZero();
            Awaitility.await().atMost(10, TimeUnit.SECONDS).until(() -> blobFiles()
                    .isEmpty());
        }
    }

    @Test
    void shouldKeepBlobsInTheStoreDirectoryAcrossReopen() throws IOException {
        Path storeDir = dir.resolve("store");
        long id;
        try (MessageStore store = MessageStore.open(storeDir, StoreConfig.defaults())) {
            Blob blob = write(store.blobs(), pattern(8, 2000), 512);
            id = blob.id();
            assertThat(store.blobs().directory()).isEqualTo(storeDir.resolve("blobs"));
        }
        try (MessageStore store = MessageStore.open(storeDir, StoreConfig.defaults())) {
            Blob blob = store.blobs().claim(id, 2000);
            assertThat(readBack(blob)).isEqualTo(pattern(8, 2000));
            blob.release();
        }
    }
}
