package dev.courier.server.amqp;

import static dev.courier.protocol.AmqpConstants.FRAME_BODY;
import static dev.courier.protocol.AmqpConstants.FRAME_END;

import dev.courier.store.Blob;
import dev.courier.store.BlobReader;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.stream.ChunkedInput;
import java.io.IOException;

/**
 * The body frames of one delivery of a large message, read from its blob one frame at a time as
 * the socket can take them (a {@link io.netty.handler.stream.ChunkedWriteHandler} pulls a chunk
 * only while the channel is writable): each chunk is one complete body frame (type 3, channel,
 * size, at most frame_max - 8 payload bytes, frame-end), so memory per delivery stays one frame
 * whatever the body's size, and TLS sees ordinary buffers. Holds a reference to the blob from
 * construction until {@link #close()} (end of input, failure, or the connection closing), so the
 * file outlives the queue's ack. The file is opened on the first read.
 *
 * <p>Reads are blocking positional reads on the event loop, a frame at a time (usually from the
 * page cache, the body having been written recently). Event loop only.
 */
final class BlobBodyFrames implements ChunkedInput<ByteBuf> {
    private final Blob blob;
    private final int channelId;
    private final int maxPayloadBytes;
    private BlobReader reader;
    private long position;
    private boolean closed;

    /** Takes a new reference to {@code blob}. */
    BlobBodyFrames(Blob blob, int channelId, int frameMax) {
        this.blob = blob.retain();
        this.channelId = channelId;
        this.maxPayloadBytes = frameMax == 0 ? 128 * 1024 : frameMax - 8;
    }

    @Override
    public boolean isEndOfInput() {
        return closed || position >= blob.sizeBytes();
    }

    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        try {
            if (reader != null) {
                reader.close();
            }
        } finally {
            blob.release();
        }
    }

    @Deprecated
    @Override
    public ByteBuf readChunk(ChannelHandlerContext ctx) throws IOException {
        return readChunk(ctx.alloc());
    }

    @Override
    public ByteBuf readChunk(ByteBufAllocator allocator) throws IOException {
        if (isEndOfInput()) {
            return null;
        }
        if (reader == null) {
            reader = blob.reader();
        }
        int payload = (int) Math.min(maxPayloadBytes, blob.sizeBytes() - position);
        ByteBuf frame = allocator.directBuffer(payload + 8);
        try {
            frame.writeByte(FRAME_BODY).writeShort(channelId).writeInt(payload);
            reader.read(position, payload, frame);
            frame.writeByte(FRAME_END);
        } catch (IOException | RuntimeException e) {
            frame.release();
            throw e;
        }
        position += payload;
        return frame;
    }

    @Override
    public long length() {
        return blob.sizeBytes();
    }

    @Override
    public long progress() {
        return position;
    }
}
