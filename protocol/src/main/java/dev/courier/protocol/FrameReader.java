package dev.courier.protocol;

import static dev.courier.protocol.AmqpConstants.FRAME_BODY;
import static dev.courier.protocol.AmqpConstants.FRAME_END;
import static dev.courier.protocol.AmqpConstants.FRAME_ERROR;
import static dev.courier.protocol.AmqpConstants.FRAME_HEADER;
import static dev.courier.protocol.AmqpConstants.FRAME_HEARTBEAT;
import static dev.courier.protocol.AmqpConstants.FRAME_METHOD;

import io.netty.buffer.ByteBuf;

/**
 * Reads frames from a byte stream without copying: header properties and bodies come out as
 * retained slices of the input. Stateless and thread-safe.
 */
public final class FrameReader {
    /** Frame header: type (1), channel (2), size (4). */
    private static final int HEADER_BYTES = 7;

    /** Outcome of {@link #checkProtocolHeader}. */
    public enum ProtocolHeaderCheck {
        NEED_MORE,
        OK,
        MISMATCH
    }

    private FrameReader() {}

    /**
     * Checks the 8-byte protocol header that opens a connection and consumes it when it is
     * "AMQP" 0 0 9 1. Any other header (other AMQP versions included) is a MISMATCH: the server
     * answers with the header it supports and closes, as RabbitMQ does for 0-9-1-only listeners.
     */
    public static ProtocolHeaderCheck checkProtocolHeader(ByteBuf in) {
        byte[] expected = AmqpConstants.PROTOCOL_HEADER;
        int available = Math.min(in.readableBytes(), expected.length);
        for (int i = 0; i < available; i++) {
            if (in.getByte(in.readerIndex() + i) != expected[i]) {
                return ProtocolHeaderCheck.MISMATCH;
            }
        }
        if (available < expected.length) {
            return ProtocolHeaderCheck.NEED_MORE;
        }
        in.skipBytes(expected.length);
        return ProtocolHeaderCheck.OK;
    }

    /**
     * Reads one frame, or returns null (consuming nothing) while the frame is incomplete.
     *
     * @param maxFrameSizeBytes the negotiated frame-max including the 8 bytes of framing; larger
     *     frames are refused as soon as their header is readable, before the payload is buffered
     * @throws ProtocolException 501 FRAME_ERROR for an oversized frame, an unknown frame type, a
     *     bad frame-end octet or a malformed content header; 502/503 for a bad method payload
     */
    public static Frame read(ByteBuf in, long maxFrameSizeBytes) {
        if (in.readableBytes() < HEADER_BYTES) {
            return null;
        }
        int start = in.readerIndex();
        int type = in.getUnsignedByte(start);
        int channel = in.getUnsignedShort(start + 1);
        long size = in.getUnsignedInt(start + 3);
        if (maxFrameSizeBytes > 0 && size + 8 > maxFrameSizeBytes) {
            throw new ProtocolException(
                    FRAME_ERROR,
                    "frame payload of " + size + " bytes exceeds the negotiated frame_max " + maxFrameSizeBytes + " ("
                            + (maxFrameSizeBytes - 8) + " bytes of payload)");
        }
        if (type != FRAME_METHOD && type != FRAME_HEADER && type != FRAME_BODY && type != FRAME_HEARTBEAT) {
            throw new ProtocolException(FRAME_ERROR, "unknown frame type " + type);
        }
        if (size > Integer.MAX_VALUE - HEADER_BYTES - 1) {
            throw new ProtocolException(FRAME_ERROR, "frame size " + size + " is too large");
        }
        if (in.readableBytes() < HEADER_BYTES + size + 1) {
            return null;
        }
        int end = in.getUnsignedByte(start + HEADER_BYTES + (int) size);
        if (end != FRAME_END) {
            throw new ProtocolException(
                    FRAME_ERROR, "bad frame end octet 0x" + Integer.toHexString(end) + ", expected 0xce");
        }
        in.skipBytes(HEADER_BYTES);
        ByteBuf payload = in.readSlice((int) size);
        in.skipBytes(1);
        return switch (type) {
            case FRAME_METHOD -> new MethodFrame(channel, MethodCodec.decode(payload));
            case FRAME_HEADER -> readHeader(channel, payload);
            case FRAME_BODY -> new BodyFrame(channel, payload.retain());
            default -> {
                if (channel != 0) {
                    throw new ProtocolException(FRAME_ERROR, "heartbeat frame on channel " + channel);
                }
                yield HeartbeatFrame.INSTANCE;
            }
        };
    }

    private static HeaderFrame readHeader(int channel, ByteBuf payload) {
        if (payload.readableBytes() < 14) {
            throw new ProtocolException(
                    FRAME_ERROR, "content header of " + payload.readableBytes() + " bytes is too short");
        }
        int classId = payload.readUnsignedShort();
        payload.skipBytes(2); // weight, unused
        long bodySize = payload.readLong();
        if (bodySize < 0) {
            throw new ProtocolException(FRAME_ERROR, "negative content body size " + bodySize);
        }
        return new HeaderFrame(channel, classId, bodySize, payload.retain());
    }
}
