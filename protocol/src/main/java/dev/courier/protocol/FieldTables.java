package dev.courier.protocol;

import static dev.courier.protocol.AmqpConstants.SYNTAX_ERROR;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * AMQP field tables and arrays, with every value type the Java client, pika and RabbitMQ send.
 *
 * <p>Decoding maps type tags to Java types: {@code t} Boolean, {@code b} Byte, {@code B} Short
 * (unsigned octet), {@code s} Short, {@code u} Integer (unsigned short), {@code I} Integer,
 * {@code i} Long (unsigned int), {@code l} Long, {@code f} Float, {@code d} Double, {@code D}
 * BigDecimal, {@code S} String, {@code x} byte[], {@code A} List, {@code T} Instant, {@code F}
 * Map, {@code V} null. Encoding picks the tag from the Java type (String→S, Integer→I, Long→l,
 * …). Decoded maps keep the wire order and are unmodifiable. Stateless and thread-safe.
 */
public final class FieldTables {
    /** Deepest nesting of tables and arrays accepted, so hostile input cannot overflow the stack. */
    private static final int MAX_DEPTH = 64;

    private FieldTables() {}

    /** Reads a table (32-bit byte length, then entries). */
    public static Map<String, Object> read(ByteBuf in) {
        return readTable(in, 0);
    }

    /** A table as the bytes {@link #write} lays down (for storing or replicating it). */
    public static byte[] toBytes(Map<String, ?> table) {
        ByteBuf out = Unpooled.buffer();
        try {
            write(out, table);
            return ByteBufUtil.getBytes(out);
        } finally {
            out.release();
        }
    }

    /** A table from bytes made by {@link #toBytes}. */
    public static Map<String, Object> fromBytes(byte[] bytes) {
        return read(Unpooled.wrappedBuffer(bytes));
    }

    /** Writes a table (32-bit byte length, then entries); a null table is written empty. */
    public static void write(ByteBuf out, Map<String, ?> table) {
        int lengthIndex = out.writerIndex();
        out.writeInt(0);
        if (table != null) {
            for (Map.Entry<String, ?> entry : table.entrySet()) {
                Codec.writeShortString(out, entry.getKey());
                writeValue(out, entry.getValue());
            }
        }
        out.setInt(lengthIndex, out.writerIndex() - lengthIndex - 4);
    }

    private static Map<String, Object> readTable(ByteBuf in, int depth) {
        long length = readLength(in, "field table");
        if (length == 0) {
            return Map.of();
        }
        if (depth > MAX_DEPTH) {
            throw new ProtocolException(SYNTAX_ERROR, "field tables nested deeper than " + MAX_DEPTH);
        }
        ByteBuf slice = in.readSlice((int) length);
        Map<String, Object> table = new LinkedHashMap<>();
        try {
            while (slice.isReadable()) {
                String key = Codec.readShortString(slice);
                table.put(key, readValue(slice, depth));
            }
        } catch (IndexOutOfBoundsException e) {
            throw new ProtocolException(SYNTAX_ERROR, "truncated field table");
        }
        return Collections.unmodifiableMap(table);
    }

    private static long readLength(ByteBuf in, String what) {
        if (in.readableBytes() < 4) {
            throw new ProtocolException(SYNTAX_ERROR, "truncated " + what + " length");
        }
        long length = in.readUnsignedInt();
        Codec.requireReadable(in, length, what);
        return length;
    }

    private static List<Object> readArray(ByteBuf in, int depth) {
        long length = readLength(in, "field array");
        if (depth > MAX_DEPTH) {
            throw new ProtocolException(SYNTAX_ERROR, "field arrays nested deeper than " + MAX_DEPTH);
        }
        ByteBuf slice = in.readSlice((int) length);
        List<Object> list = new ArrayList<>();
        while (slice.isReadable()) {
            list.add(readValue(slice, depth));
        }
        return Collections.unmodifiableList(list);
    }

    private static Object readValue(ByteBuf in, int depth) {
        byte tag = in.readByte();
        return switch (tag) {
            case 't' -> in.readBoolean();
            case 'b' -> in.readByte();
            case 'B' -> in.readUnsignedByte();
            case 's' -> in.readShort();
            case 'u' -> in.readUnsignedShort();
            case 'I' -> in.readInt();
            case 'i' -> in.readUnsignedInt();
            case 'l' -> in.readLong();
            case 'f' -> in.readFloat();
            case 'd' -> in.readDouble();
            case 'D' -> {
                int scale = in.readUnsignedByte();
                yield new BigDecimal(BigInteger.valueOf(in.readInt()), scale);
            }
            case 'S' -> Codec.readLongString(in);
            case 'x' -> Codec.readLongBytes(in);
            case 'A' -> readArray(in, depth + 1);
            case 'T' -> Codec.readTimestamp(in);
            case 'F' -> readTable(in, depth + 1);
            case 'V' -> null;
            default ->
                throw new ProtocolException(
                        SYNTAX_ERROR,
                        "unknown field table value type '" + (char) tag + "' (0x" + Integer.toHexString(tag & 0xff)
                                + ")");
        };
    }

    private static void writeValue(ByteBuf out, Object value) {
        if (value == null) {
            out.writeByte('V');
        } else if (value instanceof String s) {
            out.writeByte('S');
            Codec.writeLongString(out, s);
        } else if (value instanceof Integer i) {
            out.writeByte('I').writeInt(i);
        } else if (value instanceof Long l) {
            out.writeByte('l').writeLong(l);
        } else if (value instanceof Boolean b) {
            out.writeByte('t').writeBoolean(b);
        } else if (value instanceof Byte b) {
            out.writeByte('b').writeByte(b);
        } else if (value instanceof Short s) {
            out.writeByte('s').writeShort(s);
        } else if (value instanceof Float f) {
            out.writeByte('f').writeFloat(f);
        } else if (value instanceof Double d) {
            out.writeByte('d').writeDouble(d);
        } else if (value instanceof BigDecimal d) {
            BigInteger unscaled = d.unscaledValue();
            if (d.scale() < 0 || d.scale() > 255 || unscaled.bitLength() > 31) {
                throw new IllegalArgumentException("decimal out of AMQP range: " + d);
            }
            out.writeByte('D').writeByte(d.scale()).writeInt(unscaled.intValue());
        } else if (value instanceof Instant t) {
            out.writeByte('T').writeLong(t.getEpochSecond());
        } else if (value instanceof Date d) {
            out.writeByte('T').writeLong(d.getTime() / 1000);
        } else if (value instanceof Map<?, ?> m) {
            out.writeByte('F');
            @SuppressWarnings("unchecked")
            Map<String, ?> table = (Map<String, ?>) m;
            write(out, table);
        } else if (value instanceof List<?> list) {
            out.writeByte('A');
            writeArray(out, list);
        } else if (value instanceof Object[] array) {
            out.writeByte('A');
            writeArray(out, List.of(array));
        } else if (value instanceof byte[] bytes) {
            out.writeByte('x');
            Codec.writeLongBytes(out, bytes);
        } else if (value instanceof CharSequence cs) {
            out.writeByte('S');
            Codec.writeLongString(out, cs.toString());
        } else {
            throw new IllegalArgumentException(
                    "cannot encode " + value.getClass().getName() + " in a field table");
        }
    }

    private static void writeArray(ByteBuf out, List<?> list) {
        int lengthIndex = out.writerIndex();
        out.writeInt(0);
        for (Object item : list) {
            writeValue(out, item);
        }
        out.setInt(lengthIndex, out.writerIndex() - lengthIndex - 4);
    }

    /** The value as a String when it is one (long strings and byte arrays as UTF-8), else null. */
    public static String getString(Map<String, ?> table, String key) {
        Object value = table == null ? null : table.get(key);
        if (value instanceof String s) {
            return s;
        }
        if (value instanceof byte[] bytes) {
            return new String(bytes, StandardCharsets.UTF_8);
        }
        return null;
    }

    /** The value as a Long when it is any integral type, else null. */
    public static Long getLong(Map<String, ?> table, String key) {
        Object value = table == null ? null : table.get(key);
        if (value instanceof Long || value instanceof Integer || value instanceof Short || value instanceof Byte) {
            return ((Number) value).longValue();
        }
        return null;
    }

    /** The value as a Boolean when it is one, else null. */
    public static Boolean getBoolean(Map<String, ?> table, String key) {
        Object value = table == null ? null : table.get(key);
        return value instanceof Boolean b ? b : null;
    }

    /** Byte length of a table as {@link #write} would encode it, including its length prefix. */
    public static int encodedSize(Map<String, ?> table) {
        ByteBuf scratch = io.netty.buffer.Unpooled.buffer();
        try {
            write(scratch, table);
            return scratch.readableBytes();
        } finally {
            scratch.release();
        }
    }
}
