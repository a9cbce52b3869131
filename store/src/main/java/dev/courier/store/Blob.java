package dev.courier.store;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.AbstractReferenceCounted;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The body of a large message, in a file of its own in the {@link BlobStore}: written once by a
 * {@link BlobWriter}, then only read. Reference counted: every holder (each broker message that
 * carries it, each delivery being streamed out) owns one reference, and the file is deleted when
 * the last one is released. Thread-safe.
 */
public final class Blob extends AbstractReferenceCounted {
    private final BlobStore store;
    private final long id;
    private final long sizeBytes;
    private final AtomicReference<CompletableFuture<Void>> forced = new AtomicReference<>();

    Blob(BlobStore store, long id, long sizeBytes) {
        this.store = store;
        this.id = id;
        this.sizeBytes = sizeBytes;
    }

    /** The blob's id in its store (its file is {@code <id>.blob}). */
    public long id() {
        return id;
    }

    public long sizeBytes() {
        return sizeBytes;
    }

    /**
     * Makes the blob's bytes and its directory entry durable; completes on the blob store's I/O
     * thread. Called more than once, it fsyncs once.
     */
    public CompletableFuture<Void> force() {
        CompletableFuture<Void> result = forced.get();
        if (result != null) {
            return result;
        }
        CompletableFuture<Void> created = new CompletableFuture<>();
        if (!forced.compareAndSet(null, created)) {
            return forced.get();
        }
        store.force(this, created);
        return created;
    }

    /** Opens the blob for positional reads; close the reader when done. Blocks for an open. */
    public BlobReader reader() throws IOException {
        return new BlobReader(this, store.channels().open(path(), BlobStore.READ));
    }

    /**
     * Reads {@code length} bytes from {@code position} into a new buffer from {@code alloc} (the
     * caller owns it). For the rare uses that need a body in memory (management API, quorum
     * queues); deliveries stream through a {@link #reader()} instead.
     */
    public ByteBuf readAll(ByteBufAllocator alloc, long position, int length) throws IOException {
        ByteBuf out = alloc.buffer(length);
        try (BlobReader reader = reader()) {
            reader.read(position, length, out);
            return out;
        } catch (IOException | RuntimeException e) {
            out.release();
            throw e;
        }
    }

    Path path() {
        return store.pathOf(id);
    }

    @Override
    public Blob retain() {
        super.retain();
        return this;
    }

    @Override
    public Blob touch(Object hint) {
        return this;
    }

    @Override
    protected void deallocate() {
        store.onReleased(this);
    }

    @Override
    public String toString() {
        return "Blob[id=" + id + ", size=" + sizeBytes + "]";
    }
}
