package dev.courier.store;

import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.nio.channels.FileChannel;

/**
 * Writes one new blob as its chunks arrive (the body frames of a large publish): {@link #append}
 * each chunk, then {@link #finish()} for the {@link Blob}, or {@link #abort()} to delete the
 * partial file. Memory stays at one chunk: each is written and released before append returns.
 * One thread at a time (the publishing connection's event loop).
 */
public final class BlobWriter implements AutoCloseable {
    private final BlobStore store;
    private final long id;
    private final FileChannel channel;
    private long written;
    private boolean done;

    BlobWriter(BlobStore store, long id, FileChannel channel) {
        this.store = store;
        this.id = id;
        this.channel = channel;
    }

    public long id() {
        return id;
    }

    /** Bytes appended so far. */
    public long writtenBytes() {
        return written;
    }

    /**
     * Writes all of {@code chunk}'s readable bytes at the end of the blob and releases the chunk
     * (also when the write fails). Blocks for the write (into the page cache; no fsync).
     */
    public void append(ByteBuf chunk) throws IOException {
        try {
            if (done) {
                throw new IllegalStateException("blob " + id + " already finished or aborted");
            }
            int length = chunk.readableBytes();
            int start = chunk.readerIndex();
            int done = 0;
            while (done < length) {
                done += chunk.getBytes(start + done, channel, written + done, length - done);
            }
            written += length;
        } finally {
            chunk.release();
        }
    }

    /** Closes the file and hands over the blob (one reference, the caller's). */
    public Blob finish() throws IOException {
        if (done) {
            throw new IllegalStateException("blob " + id + " already finished or aborted");
        }
        done = true;
        try {
            channel.close();
        } catch (IOException e) {
            store.delete(id);
            throw e;
        }
        return store.register(id, written);
    }

    /** Drops an unfinished blob: closes and deletes its file. Does nothing once finished. */
    public void abort() {
        if (done) {
            return;
        }
        done = true;
        try {
            channel.close();
        } catch (IOException e) {
            // deleting it anyway
        }
        store.delete(id);
    }

    /** {@link #abort()}. */
    @Override
    public void close() {
        abort();
    }
}
