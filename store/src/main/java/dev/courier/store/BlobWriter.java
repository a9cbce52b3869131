package dev.courier.store;

import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

/**
 * Writes one new blob as its chunks arrive (the body frames of a large publish): {@link #append}
 * each chunk, then {@link #finish()} for the {@link Blob}, or {@link #abort()} to delete the
 * partial file. The file I/O (open, writes, close) runs on the blob store's writer thread, in
 * call order, so the caller (a connection's event loop) never blocks on the disk; each chunk is
 * released as soon as it is written, and the caller bounds how many bytes it has handed over but
 * not yet seen written (the {@code written} callbacks) to keep memory at a few chunks.
 *
 * <p>The calls come from one thread at a time (the publishing connection's event loop); the
 * callbacks and the future complete on the writer thread.
 */
public final class BlobWriter {
    private final BlobStore store;
    private final long id;
    private final Executor writerThread;

    // the caller's side
    private long appended;
    private boolean done;
    private volatile boolean aborted;

    // the writer thread's side
    private FileChannel channel;
    private long written;
    private IOException failure;

    BlobWriter(BlobStore store, long id, Executor writerThread) {
        this.store = store;
        this.id = id;
        this.writerThread = writerThread;
    }

    public long id() {
        return id;
    }

    /** Bytes appended so far (handed over, not necessarily written yet). */
    public long appendedBytes() {
        return appended;
    }

    /**
     * Queues {@code chunk}'s readable bytes for the end of the blob and takes ownership of it; it
     * is released once written (or dropped after a failure or an abort), and then {@code written}
     * runs, on the writer thread. A write failure is reported by {@link #finish()}.
     */
    public void append(ByteBuf chunk, Runnable written) {
        if (done) {
            chunk.release();
            written.run();
            throw new IllegalStateException("blob " + id + " already finished or aborted");
        }
        appended += chunk.readableBytes();
        // a view of the chunk's bytes made here, for the writer thread to write from: the chunk is
        // often a slice of a buffer the caller's thread goes on using, and a buffer's own NIO view
        // (what its getBytes-to-a-channel uses) is shared state, not safe across threads
        ByteBuffer view = chunk.nioBuffer();
        Runnable drop = () -> {
            chunk.release();
            written.run();
        };
        submit(
                () -> {
                    try {
                        if (!aborted && failure == null) {
                            writeNow(view);
                        }
                    } catch (IOException | RuntimeException e) {
                        failure = e instanceof IOException io ? io : new IOException(e);
                    } finally {
                        drop.run();
                    }
                },
                drop);
    }

    /**
     * Completes with the blob (one reference, the caller's) once every appended chunk is written
     * and the file closed; fails with the first write failure (the partial file is deleted).
     */
    public CompletableFuture<Blob> finish() {
        if (done) {
            throw new IllegalStateException("blob " + id + " already finished or aborted");
        }
        done = true;
        long size = appended;
        CompletableFuture<Blob> result = new CompletableFuture<>();
        submit(
                () -> {
                    try {
                        if (failure != null) {
                            throw failure;
                        }
                        open();
                        channel.close();
                        if (written != size) {
                            throw new IOException("blob " + id + " has " + written + " bytes, expected " + size);
                        }
                        result.complete(store.register(id, size));
                    } catch (IOException | RuntimeException e) {
                        closeQuietly();
                        store.delete(id);
                        result.completeExceptionally(e);
                    }
                },
                () -> result.completeExceptionally(new IOException("blob store " + store.directory() + " is closed")));
        return result;
    }

    /** Drops an unfinished blob: what is queued is released unwritten, the file deleted. No-op once finished. */
    public void abort() {
        if (done) {
            return;
        }
        done = true;
        aborted = true;
        submit(
                () -> {
                    closeQuietly();
                    store.delete(id);
                },
                () -> {});
    }

    private void submit(Runnable task, Runnable rejected) {
        try {
            writerThread.execute(task);
        } catch (RejectedExecutionException e) {
            rejected.run(); // the store closed: the next open deletes any partial file
        }
    }

    // ---------------------------------------------------------------- writer thread

    private void open() throws IOException {
        if (channel == null) {
            channel = store.create(id);
        }
    }

    private void writeNow(ByteBuffer view) throws IOException {
        open();
        int length = view.remaining();
        int done = 0;
        while (done < length) {
            done += channel.write(view, written + done);
        }
        written += length;
    }

    private void closeQuietly() {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException e) {
                // being deleted
            }
        }
    }
}
