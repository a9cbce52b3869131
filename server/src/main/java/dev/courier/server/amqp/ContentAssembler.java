package dev.courier.server.amqp;

import static dev.courier.protocol.AmqpConstants.PRECONDITION_FAILED;
import static dev.courier.protocol.AmqpConstants.RESOURCE_ERROR;
import static dev.courier.protocol.AmqpConstants.UNEXPECTED_FRAME;

import dev.courier.broker.AmqpException;
import dev.courier.protocol.Amqp;
import dev.courier.protocol.BodyFrame;
import dev.courier.protocol.Frame;
import dev.courier.protocol.HeaderFrame;
import dev.courier.store.Blob;
import dev.courier.store.BlobStore;
import dev.courier.store.BlobWriter;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.util.concurrent.CompletableFuture;

/**
 * Collects the content header and body frames that follow a basic.publish into one message.
 *
 * <p>The body is kept as the received frame slices (one buffer, or a composite of several): it
 * is not copied here (a transient message is, once it is a {@code Message}: see {@code
 * Message.copiedOut}). The size limit is checked on the content header, before any body byte is
 * buffered. A body larger than the large-message threshold is not kept at all: each body frame
 * is handed to a new blob in the store's blob area as it arrives ({@link BlobWriter}: the writes
 * run on the blob store's writer thread, never on the event loop) and released once written; the
 * connection stops reading while more than a few frames wait for the writer ({@link
 * WriteBacklog}), so a large publish holds a few frames of memory. The complete publish then
 * waits for the last write ({@link Result#largeBodyWritten()}). Event loop only.
 */
final class ContentAssembler {
    /**
     * A complete publish; the caller owns {@code properties} and {@code body}, and {@code
     * largeBody} when it is not null: then the body is that blob and {@code body} is empty. A
     * large publish comes out with {@code largeBodyWritten} instead, completing with the blob
     * (owned by the caller) once its last frame is written, or failing if a write failed.
     */
    record Result(
            Amqp.Basic.Publish publish,
            ByteBuf properties,
            ByteBuf body,
            Blob largeBody,
            CompletableFuture<Blob> largeBodyWritten) {
        Result(Amqp.Basic.Publish publish, ByteBuf properties, ByteBuf body) {
            this(publish, properties, body, null, null);
        }

        /** This publish with its body written: {@code blob} is the body. */
        Result withLargeBody(Blob blob) {
            return new Result(publish, properties, body, blob, null);
        }
    }

    /**
     * Body bytes handed to the blob writer and not yet written, which the connection bounds by
     * pausing its reads. {@code handedOver} is called on the event loop, {@code written} on the
     * blob writer thread.
     */
    interface WriteBacklog {
        WriteBacklog UNBOUNDED = new WriteBacklog() {
            @Override
            public void handedOver(long bytes) {}

            @Override
            public void written(long bytes) {}
        };

        void handedOver(long bytes);

        void written(long bytes);
    }

    private final long maxMessageSizeBytes;
    private final BlobStore blobs;
    private final long largeMessageThresholdBytes;
    private final WriteBacklog writeBacklog;
    private Amqp.Basic.Publish publish;
    private ByteBuf properties;
    private ByteBuf body;
    private BlobWriter blobWriter;
    private long bodySize;
    private long received;

    /** Keeps every body in memory (no blob store). */
    ContentAssembler(long maxMessageSizeBytes) {
        this(maxMessageSizeBytes, null, Long.MAX_VALUE, WriteBacklog.UNBOUNDED);
    }

    /**
     * @param blobs where bodies larger than {@code largeMessageThresholdBytes} go; null keeps
     *     every body in memory
     * @param writeBacklog told about the body bytes waiting for the blob writer
     */
    ContentAssembler(
            long maxMessageSizeBytes, BlobStore blobs, long largeMessageThresholdBytes, WriteBacklog writeBacklog) {
        this.maxMessageSizeBytes = maxMessageSizeBytes;
        this.blobs = blobs;
        this.largeMessageThresholdBytes = largeMessageThresholdBytes;
        this.writeBacklog = writeBacklog;
    }

    /** True between a basic.publish and its last body frame. */
    boolean inProgress() {
        return publish != null;
    }

    void begin(Amqp.Basic.Publish method) {
        publish = method;
    }

    /**
     * Takes a header or body frame (and ownership of its buffers).
     *
     * @return the complete publish once the last byte of the body arrived, else null
     * @throws AmqpException 505 for a content frame out of place, 406 for an oversized message
     */
    Result onContentFrame(Frame frame) {
        if (publish == null) {
            Frames.release(frame);
            throw new AmqpException(UNEXPECTED_FRAME, "expected method frame, got non method frame instead");
        }
        if (frame instanceof HeaderFrame header) {
            if (properties != null) {
                Frames.release(frame);
                throw new AmqpException(UNEXPECTED_FRAME, "expected content body, got content header instead");
            }
            properties = header.properties();
            bodySize = header.bodySize();
            if (header.classId() != Amqp.Basic.Publish.CLASS_ID) {
                throw new AmqpException(
                        UNEXPECTED_FRAME,
                        "content header for class " + header.classId() + " does not match method class 60");
            }
            if (bodySize > maxMessageSizeBytes) {
                long size = bodySize;
                release();
                throw new AmqpException(
                        PRECONDITION_FAILED,
                        "message size " + size + " is larger than configured max size " + maxMessageSizeBytes);
            }
            if (blobs != null && bodySize > largeMessageThresholdBytes) {
                // the properties are a slice of the decoder's read buffer, which fills with body
                // frames: a queued large message would pin that whole buffer (about a MiB each,
                // measured) for a few bytes, so it keeps a copy instead
                ByteBuf copy = properties.alloc().buffer(properties.readableBytes());
                copy.writeBytes(properties, properties.readerIndex(), properties.readableBytes());
                properties.release();
                properties = copy;
                try {
                    blobWriter = blobs.newWriter();
                } catch (IOException e) {
                    release();
                    throw blobFailure(e);
                }
                return null;
            }
            return bodySize == 0 ? complete(Unpooled.EMPTY_BUFFER) : null;
        }
        if (frame instanceof BodyFrame bodyFrame) {
            if (properties == null) {
                Frames.release(frame);
                throw new AmqpException(UNEXPECTED_FRAME, "expected content header for class 60, got body instead");
            }
            ByteBuf chunk = bodyFrame.content();
            received += chunk.readableBytes();
            if (received > bodySize) {
                chunk.release();
                throw new AmqpException(
                        UNEXPECTED_FRAME, "content body exceeds the size " + bodySize + " announced in its header");
            }
            if (blobWriter != null) {
                return appendToBlob(chunk);
            }
            if (body == null) {
                if (received == bodySize) {
                    return complete(chunk);
                }
                CompositeByteBuf composite = chunk.alloc().compositeBuffer(Integer.MAX_VALUE);
                composite.addComponent(true, chunk);
                body = composite;
            } else {
                ((CompositeByteBuf) body).addComponent(true, chunk);
            }
            if (received == bodySize) {
                ByteBuf whole = body;
                body = null;
                return complete(whole);
            }
            return null;
        }
        Frames.release(frame);
        throw new AmqpException(UNEXPECTED_FRAME, "unexpected frame " + frame);
    }

    private Result appendToBlob(ByteBuf chunk) {
        int bytes = chunk.readableBytes();
        writeBacklog.handedOver(bytes);
        blobWriter.append(chunk, () -> writeBacklog.written(bytes)); // takes the chunk
        if (received < bodySize) {
            return null;
        }
        Result result = new Result(publish, properties, Unpooled.EMPTY_BUFFER, null, blobWriter.finish());
        clear();
        return result;
    }

    /** The error (506, which closes the connection) for a body the blob store could not take. */
    static AmqpException blobFailure(Throwable e) {
        return new AmqpException(RESOURCE_ERROR, "cannot store a large message body: " + e.getMessage());
    }

    private Result complete(ByteBuf wholeBody) {
        Result result = new Result(publish, properties, wholeBody);
        clear();
        return result;
    }

    private void clear() {
        publish = null;
        properties = null;
        body = null;
        blobWriter = null;
        received = 0;
        bodySize = 0;
    }

    /** Drops a partly received message (channel closing). */
    void release() {
        if (properties != null) {
            properties.release();
        }
        if (body != null) {
            body.release();
        }
        if (blobWriter != null) {
            blobWriter.abort();
        }
        clear();
    }
}
