package dev.courier.protocol;

import static dev.courier.protocol.AmqpConstants.SYNTAX_ERROR;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import java.nio.charset.StandardCharsets;
import java.time.Instant;

/**
 * Primitive AMQP encodings: short strings (octet length) and long strings (32-bit length).
 * Reads throw {@link ProtocolException} 502 on truncated input, never IndexOutOfBounds.
 */
final class Codec {
    private Codec() {}

    static String readShortString(ByteBuf in) {
        int length = in.readUnsignedByte();
        requireReadable(in, length, "short string");
        if (length == 0) {
            return "";
        }
        String value = in.toString(in.readerIndex(), length, StandardCharsets.UTF_8);
        in.skipBytes(length);
        return value;
    }

    static void writeShortString(ByteBuf out, String value) {
        int lengthIndex = out.writerIndex();
        out.writeByte(0);
        int length = ByteBufUtil.writeUtf8(out, value);
        if (length > 255) {
            out.writerIndex(lengthIndex);
            throw new IllegalArgumentException("short string longer than 255 bytes: " + length);
        }
        out.setByte(lengthIndex, length);
    }

    static String readLongString(ByteBuf in) {
        long length = in.readUnsignedInt();
        requireReadable(in, length, "long string");
        String value = in.toString(in.readerIndex(), (int) length, StandardCharsets.UTF_8);
        in.skipBytes((int) length);
        return value;
    }

    static void writeLongString(ByteBuf out, String value) {
        int lengthIndex = out.writerIndex();
        out.writeInt(0);
        int length = ByteBufUtil.writeUtf8(out, value);
        out.setInt(lengthIndex, length);
    }

    static byte[] readLongBytes(ByteBuf in) {
        long length = in.readUnsignedInt();
        requireReadable(in, length, "long string");
        byte[] bytes = new byte[(int) length];
        in.readBytes(bytes);
        return bytes;
    }

    static void writeLongBytes(ByteBuf out, byte[] value) {
        out.writeInt(value.length);
        out.writeBytes(value);
    }

    /** A 64-bit POSIX timestamp in seconds; values no {@link Instant} can hold are malformed. */
    static Instant readTimestamp(ByteBuf in) {
        long seconds = in.readLong();
        if (seconds < Instant.MIN.getEpochSecond() || seconds > Instant.MAX.getEpochSecond()) {
            throw new ProtocolException(SYNTAX_ERROR, "timestamp " + seconds + " is out of range");
        }
        return Instant.ofEpochSecond(seconds);
    }

    static void requireReadable(ByteBuf in, long length, String what) {
        if (length > in.readableBytes()) {
            throw new ProtocolException(
                    SYNTAX_ERROR,
                    what + " of " + length + " bytes overruns the frame (" + in.readableBytes() + " left)");
        }
    }
}
