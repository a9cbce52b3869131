package dev.courier.protocol;

import static dev.courier.protocol.AmqpConstants.FRAME_BODY;
import static dev.courier.protocol.AmqpConstants.FRAME_END;
import static dev.courier.protocol.AmqpConstants.FRAME_HEADER;
import static dev.courier.protocol.AmqpConstants.FRAME_HEARTBEAT;
import static dev.courier.protocol.AmqpConstants.FRAME_METHOD;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;

/** Writes frames straight into buffers. Stateless and thread-safe. */
public final class FrameWriter {
    /** Bodies up to this size are copied next to their method and header frames: one buffer. */
    private static final int COPY_BODY_BELOW_BYTES = 4096;

    private static final int BASIC_CLASS_ID = 60;

    private FrameWriter() {}

    public static void writeMethod(ByteBuf out, int channel, Method method) {
        out.writeByte(FRAME_METHOD).writeShort(channel);
        int sizeIndex = out.writerIndex();
        out.writeInt(0);
        MethodCodec.encode(method, out);
        out.setInt(sizeIndex, out.writerIndex() - sizeIndex - 4);
        out.writeByte(FRAME_END);
    }

    /** Writes a basic content header with raw (already encoded) properties. */
    public static void writeHeader(ByteBuf out, int channel, long bodySize, ByteBuf rawProperties) {
        int propertiesBytes = rawProperties.readableBytes();
        out.writeByte(FRAME_HEADER).writeShort(channel).writeInt(12 + propertiesBytes);
        out.writeShort(BASIC_CLASS_ID).writeShort(0).writeLong(bodySize);
        out.writeBytes(rawProperties, rawProperties.readerIndex(), propertiesBytes);
        out.writeByte(FRAME_END);
    }

    /** Writes a basic content header, encoding the properties. */
    public static void writeHeader(ByteBuf out, int channel, long bodySize, BasicProperties properties) {
        out.writeByte(FRAME_HEADER).writeShort(channel);
        int sizeIndex = out.writerIndex();
        out.writeInt(0);
        out.writeShort(BASIC_CLASS_ID).writeShort(0).writeLong(bodySize);
        properties.encode(out);
        out.setInt(sizeIndex, out.writerIndex() - sizeIndex - 4);
        out.writeByte(FRAME_END);
    }

    /** Writes one body frame holding all readable bytes of {@code slice} (not consumed). */
    public static void writeBodyFrame(ByteBuf out, int channel, ByteBuf slice) {
        out.writeByte(FRAME_BODY).writeShort(channel).writeInt(slice.readableBytes());
        out.writeBytes(slice, slice.readerIndex(), slice.readableBytes());
        out.writeByte(FRAME_END);
    }

    public static void writeHeartbeat(ByteBuf out) {
        out.writeByte(FRAME_HEARTBEAT).writeShort(0).writeInt(0).writeByte(FRAME_END);
    }

    /**
     * Encodes a method with content (deliver, get-ok, return) as one buffer: method frame, header
     * frame and body frames of at most {@code frameMax} bytes each (0 = unlimited). Small bodies
     * are copied; larger ones are added as retained slices of {@code body}, never copied. Neither
     * {@code body} nor {@code rawProperties} is released or consumed.
     */
    public static ByteBuf encodeContent(
            ByteBufAllocator alloc, int channel, Method method, ByteBuf rawProperties, ByteBuf body, int frameMax) {
        int bodyBytes = body.readableBytes();
        ByteBuf head = alloc.buffer(
                64 + rawProperties.readableBytes() + (bodyBytes < COPY_BODY_BELOW_BYTES ? bodyBytes + 8 : 8));
        writeMethod(head, channel, method);
        writeHeader(head, channel, bodyBytes, rawProperties);
        if (bodyBytes == 0) {
            return head;
        }
        int maxPayload = frameMax == 0 ? Integer.MAX_VALUE : frameMax - 8;
        if (bodyBytes < COPY_BODY_BELOW_BYTES && bodyBytes <= maxPayload) {
            writeBodyFrame(head, channel, body);
            return head;
        }
        int frames = (bodyBytes + maxPayload - 1) / maxPayload;
        CompositeByteBuf composite = alloc.compositeBuffer(2 * frames + 1);
        ByteBuf framing = head;
        int offset = body.readerIndex();
        int remaining = bodyBytes;
        while (remaining > 0) {
            int chunk = Math.min(remaining, maxPayload);
            framing.writeByte(FRAME_BODY).writeShort(channel).writeInt(chunk);
            composite.addComponent(true, framing);
            composite.addComponent(true, body.retainedSlice(offset, chunk));
            offset += chunk;
            remaining -= chunk;
            framing = alloc.buffer(8);
            framing.writeByte(FRAME_END);
        }
        composite.addComponent(true, framing);
        return composite;
    }
}
