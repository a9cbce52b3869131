package dev.courier.cluster.raft;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The bytes of a batched log entry and of its reply. All integers big-endian.
 *
 * <pre>
 * entry := version:int8 (1) timeMs:int64 count:int32 (length:int32 command)*count
 * reply := count:int32 (length:int32 bytes | -1-length:int32 utf8-error)*count
 * </pre>
 *
 * A reply slot with a negative length carries the message of an exception {@link
 * ReplicatedStateMachine#apply} threw instead of a reply. Stateless; safe from any thread.
 */
final class EntryCodec {
    static final int ENTRY_HEADER_BYTES = 1 + Long.BYTES + Integer.BYTES;
    private static final byte VERSION = 1;

    private EntryCodec() {}

    /** A decoded entry. */
    record Entry(long timeMs, List<byte[]> commands) {}

    /** One command's outcome: a reply, or (when {@code error} is not null) the apply failure. */
    record Outcome(byte[] reply, String error) {
        static Outcome failed(String error) {
            return new Outcome(new byte[0], error);
        }
    }

    static int encodedSize(int commandBytes) {
        return Integer.BYTES + commandBytes;
    }

    static byte[] encodeEntry(long timeMs, List<byte[]> commands) {
        int size = ENTRY_HEADER_BYTES;
        for (byte[] command : commands) {
            size += encodedSize(command.length);
        }
        ByteBuffer out = ByteBuffer.allocate(size);
        out.put(VERSION).putLong(timeMs).putInt(commands.size());
        for (byte[] command : commands) {
            out.putInt(command.length).put(command);
        }
        return out.array();
    }

    static Entry decodeEntry(ByteBuffer in) {
        byte version = in.get();
        if (version != VERSION) {
            throw new IllegalArgumentException("unknown entry format version " + version);
        }
        long timeMs = in.getLong();
        int count = in.getInt();
        checkCount(count, in);
        List<byte[]> commands = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            commands.add(bytes(in, in.getInt()));
        }
        return new Entry(timeMs, commands);
    }

    static byte[] encodeReplies(List<Outcome> outcomes) {
        List<byte[]> errors = new ArrayList<>(outcomes.size());
        int size = Integer.BYTES;
        for (Outcome outcome : outcomes) {
            byte[] error = outcome.error() == null ? null : outcome.error().getBytes(StandardCharsets.UTF_8);
            errors.add(error);
            size += Integer.BYTES + (error == null ? outcome.reply().length : error.length);
        }
        ByteBuffer out = ByteBuffer.allocate(size);
        out.putInt(outcomes.size());
        for (int i = 0; i < outcomes.size(); i++) {
            byte[] error = errors.get(i);
            if (error == null) {
                out.putInt(outcomes.get(i).reply().length).put(outcomes.get(i).reply());
            } else {
                out.putInt(-1 - error.length).put(error);
            }
        }
        return out.array();
    }

    static List<Outcome> decodeReplies(ByteBuffer in) {
        int count = in.getInt();
        checkCount(count, in);
        List<Outcome> outcomes = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            int length = in.getInt();
            if (length >= 0) {
                outcomes.add(new Outcome(bytes(in, length), null));
            } else {
                outcomes.add(Outcome.failed(new String(bytes(in, -1 - length), StandardCharsets.UTF_8)));
            }
        }
        return outcomes;
    }

    private static void checkCount(int count, ByteBuffer in) {
        if (count < 0 || (long) count * Integer.BYTES > in.remaining()) {
            throw new IllegalArgumentException("bad command count " + count);
        }
    }

    private static byte[] bytes(ByteBuffer in, int length) {
        if (length < 0 || length > in.remaining()) {
            throw new IllegalArgumentException("bad length " + length + " with " + in.remaining() + " bytes left");
        }
        byte[] bytes = new byte[length];
        in.get(bytes);
        return bytes;
    }
}
