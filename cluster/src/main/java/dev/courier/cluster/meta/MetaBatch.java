package dev.courier.cluster.meta;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The operations one metadata command applies atomically: every condition ({@link
 * MetaOp.ExpectPresent}, {@link MetaOp.ExpectNoPrefix}, {@link MetaOp.PutIfAbsent} with another
 * value in force) is checked against the map as it was before the batch; if one fails nothing is
 * written, else the writes are applied in order. Immutable.
 *
 * <pre>
 * batch := version:int8 (1) count:int32 op*count
 * op    := kind:int8 key:string [value:bytes]      (value for Put and PutIfAbsent)
 * string, bytes := length:int32 content            (strings in UTF-8)
 * </pre>
 */
public record MetaBatch(List<MetaOp> ops) {
    private static final byte VERSION = 1;
    private static final int PUT = 1;
    private static final int PUT_IF_ABSENT = 2;
    private static final int DELETE = 3;
    private static final int DELETE_PREFIX = 4;
    private static final int EXPECT_PRESENT = 5;
    private static final int EXPECT_NO_PREFIX = 6;

    public MetaBatch {
        ops = List.copyOf(ops);
        if (ops.isEmpty()) {
            throw new IllegalArgumentException("a metadata batch needs at least one operation");
        }
    }

    public static MetaBatch of(MetaOp... ops) {
        return new MetaBatch(List.of(ops));
    }

    byte[] encode() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(64);
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeByte(VERSION);
            out.writeInt(ops.size());
            for (MetaOp op : ops) {
                if (op instanceof MetaOp.Put put) {
                    writeOp(out, PUT, put.key(), put.value());
                } else if (op instanceof MetaOp.PutIfAbsent put) {
                    writeOp(out, PUT_IF_ABSENT, put.key(), put.value());
                } else if (op instanceof MetaOp.Delete delete) {
                    writeOp(out, DELETE, delete.key(), null);
                } else if (op instanceof MetaOp.DeletePrefix delete) {
                    writeOp(out, DELETE_PREFIX, delete.prefix(), null);
                } else if (op instanceof MetaOp.ExpectPresent expect) {
                    writeOp(out, EXPECT_PRESENT, expect.key(), null);
                } else if (op instanceof MetaOp.ExpectNoPrefix expect) {
                    writeOp(out, EXPECT_NO_PREFIX, expect.prefix(), null);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a byte array does not fail
        }
        return bytes.toByteArray();
    }

    private static void writeOp(DataOutputStream out, int kind, String key, byte[] value) throws IOException {
        out.writeByte(kind);
        writeBytes(out, key.getBytes(StandardCharsets.UTF_8));
        if (value != null) {
            writeBytes(out, value);
        }
    }

    static void writeBytes(DataOutputStream out, byte[] bytes) throws IOException {
        out.writeInt(bytes.length);
        out.write(bytes);
    }

    static byte[] readBytes(DataInputStream in) throws IOException {
        int length = in.readInt();
        if (length < 0 || length > in.available()) {
            throw new IOException("bad length " + length);
        }
        return in.readNBytes(length);
    }

    static String readString(DataInputStream in) throws IOException {
        return new String(readBytes(in), StandardCharsets.UTF_8);
    }

    static MetaBatch decode(byte[] bytes) throws IOException {
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes));
        int version = in.readUnsignedByte();
        if (version != VERSION) {
            throw new IOException("unknown metadata batch version " + version);
        }
        int count = in.readInt();
        if (count <= 0 || count > bytes.length) {
            throw new IOException("bad operation count " + count);
        }
        List<MetaOp> ops = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            int kind = in.readUnsignedByte();
            String key = readString(in);
            ops.add(
                    switch (kind) {
                        case PUT -> new MetaOp.Put(key, readBytes(in));
                        case PUT_IF_ABSENT -> new MetaOp.PutIfAbsent(key, readBytes(in));
                        case DELETE -> new MetaOp.Delete(key);
                        case DELETE_PREFIX -> new MetaOp.DeletePrefix(key);
                        case EXPECT_PRESENT -> new MetaOp.ExpectPresent(key);
                        case EXPECT_NO_PREFIX -> new MetaOp.ExpectNoPrefix(key);
                        default -> throw new IOException("unknown metadata operation " + kind);
                    });
        }
        return new MetaBatch(ops);
    }
}
