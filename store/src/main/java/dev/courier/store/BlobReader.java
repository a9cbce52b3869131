package dev.courier.store;

import io.netty.buffer.ByteBuf;
import java.io.EOFException;
import java.io.IOException;
import java.nio.channels.FileChannel;

/**
 * An open blob file for positional reads (delivery streams a body frame by frame through one).
 * Holds a reference to its blob until closed, so the file outlives any other holder's release.
 * One thread at a time.
 */
public final class BlobReader implements AutoCloseable {
    private final Blob blob;
    private final FileChannel channel;
    private boolean closed;

    BlobReader(Blob blob, FileChannel channel) {
        this.blob = blob.retain();
        this.channel = channel;
    }

    public Blob blob() {
        return blob;
    }

    /**
     * Appends {@code length} bytes of the blob from {@code position} to {@code out} (which must
     * have room for them). Blocks for the read.
     *
     * @throws EOFException if the file ends before them (a damaged blob)
     */
    public void read(long position, int length, ByteBuf out) throws IOException {
        if (position < 0 || length < 0 || position + length > blob.sizeBytes()) {
            throw new IllegalArgumentException("read of " + length + " bytes at " + position + " outside " + blob);
        }
        int done = 0;
        while (done < length) {
            int n = out.writeBytes(channel, position + done, length - done);
            if (n < 0) {
                throw new EOFException("blob " + blob.id() + " ends at " + (position + done) + ", expected "
                        + blob.sizeBytes() + " bytes");
            }
            done += n;
        }
    }

    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        try {
            channel.close();
        } finally {
            blob.release();
        }
    }
}
