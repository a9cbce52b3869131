package dev.courier.server.amqp;

import static dev.courier.protocol.AmqpConstants.PRECONDITION_FAILED;
import static dev.courier.protocol.AmqpConstants.UNEXPECTED_FRAME;

import dev.courier.broker.AmqpException;
import dev.courier.protocol.Amqp;
import dev.courier.protocol.BodyFrame;
import dev.courier.protocol.Frame;
import dev.courier.protocol.HeaderFrame;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;

/**
 * Collects the content header and body frames that follow a basic.publish into one message.
 *
 * <p>The body is kept as the received frame slices (one buffer, or a composite of several): it
 * is never copied. The size limit is checked on the content header, before any body byte is
 * buffered. Event loop only.
 */
final class ContentAssembler {
    /** A complete publish; the caller owns {@code properties} and {@code body}. */
    record Result(Amqp.Basic.Publish publish, ByteBuf properties, ByteBuf body) {}

    private final long maxMessageSizeBytes;
    private Amqp.Basic.Publish publish;
    private ByteBuf properties;
    private ByteBuf body;
    private long bodySize;
    private long received;

    ContentAssembler(long maxMessageSizeBytes) {
        this.maxMessageSizeBytes = maxMessageSizeBytes;
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

    private Result complete(ByteBuf wholeBody) {
        Result result = new Result(publish, properties, wholeBody);
        publish = null;
        properties = null;
        body = null;
        received = 0;
        bodySize = 0;
        return result;
    }

    /** Drops a partly received message (channel closing). */
    void release() {
        if (properties != null) {
            properties.release();
        }
        if (body != null) {
            body.release();
        }
        publish = null;
        properties = null;
        body = null;
        received = 0;
        bodySize = 0;
    }
}
