package dev.courier.cluster.meta;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Arrays;

/**
 * What a {@link MetaBatch} did: applied, or rejected by the condition at {@code rejectedOp} (then
 * {@code inForce} is what the map held there: the other value for a {@link MetaOp.PutIfAbsent},
 * the first matching key's UTF-8 for a {@link MetaOp.ExpectNoPrefix}, null for a missing {@link
 * MetaOp.ExpectPresent}). {@code index} is the log index of the entry that carried the batch.
 * Immutable.
 *
 * <pre>result := index:int64 rejectedOp:int32 (-1: applied) [inForce: length:int32 (-1: null) bytes]</pre>
 */
public record MetaResult(long index, int rejectedOp, byte[] inForce) {
    static MetaResult applied(long index) {
        return new MetaResult(index, -1, null);
    }

    /** Whether every write of the batch was applied. */
    public boolean applied() {
        return rejectedOp < 0;
    }

    byte[] encode() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(32);
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeLong(index);
            out.writeInt(rejectedOp);
            if (rejectedOp >= 0) {
                if (inForce == null) {
                    out.writeInt(-1);
                } else {
                    MetaBatch.writeBytes(out, inForce);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    static MetaResult decode(byte[] bytes) {
        try {
            DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes));
            long index = in.readLong();
            int rejected = in.readInt();
            if (rejected < 0) {
                return applied(index);
            }
            int length = in.readInt();
            return new MetaResult(index, rejected, length < 0 ? null : in.readNBytes(length));
        } catch (IOException e) {
            throw new UncheckedIOException("undecodable metadata result", e);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof MetaResult r
                && index == r.index
                && rejectedOp == r.rejectedOp
                && Arrays.equals(inForce, r.inForce);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(index) * 31 + rejectedOp * 17 + Arrays.hashCode(inForce);
    }

    @Override
    public String toString() {
        return applied()
                ? "MetaResult[applied at " + index + "]"
                : "MetaResult[rejected by op " + rejectedOp + " at " + index
                        + (inForce == null ? "" : ", " + inForce.length + " bytes in force") + "]";
    }
}
