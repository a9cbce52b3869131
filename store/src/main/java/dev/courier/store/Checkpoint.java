package dev.courier.store;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.zip.CRC32C;
import java.util.zip.CheckedInputStream;
import java.util.zip.CheckedOutputStream;

/**
 * A snapshot of the whole {@link StoreState} at a log position, so recovery replays only the log
 * after it. Captured on the writer thread (a copy of the occupied index slots), written on the
 * maintenance thread to {@code checkpoint.tmp}, fsynced, renamed over {@code checkpoint} and
 * made durable with a directory fsync: a crash leaves either the old or the new file.
 *
 * <pre>
 * magic:int32 ("CRCP") version:int32 position:int64 nextSeq:int64 nextQueueId:int32 highestMessageId:int64
 * queueCount:int32 (queueId:int32 nameLength:int32 name)*
 * metadataCount:int32 (keyLength:int32 key valueLength:int32 value)*
 * segmentCount:int32 (segmentId:int64 liveMessages:int64 totalMessages:int64)*
 * messageCount:int64 (4 x int64 index slot)*
 * extraEntryCount:int64 (3 x int64 index slot)*
 * crc32c:int32 over everything before it
 * </pre>
 */
final class Checkpoint {
    private static final int MAGIC = 0x43524350; // "CRCP"
    private static final int VERSION = 1;
    private static final int BUFFER_BYTES = 1 << 16;

    private Checkpoint() {}

    /** The captured state; arrays are private copies. */
    record Data(
            long position,
            long nextSeq,
            int nextQueueId,
            long highestMessageId,
            Map<Integer, String> queues,
            Map<String, byte[]> metadata,
            long[] segmentStats,
            long[] messageSlots,
            long[] extraEntrySlots) {}

    /** Thrown when the checkpoint file is damaged; recovery then replays the whole log. */
    static final class CorruptCheckpointException extends IOException {
        private static final long serialVersionUID = 1L;

        CorruptCheckpointException(String message) {
            super(message);
        }
    }

    /** Copies the state (writer or recovery thread; the state is not changing meanwhile). */
    static Data capture(StoreState state, long position, int nextQueueId) {
        long[] segmentStats = new long[state.segments.size() * 3];
        int i = 0;
        for (Segment segment : state.segments.values()) {
            segmentStats[i++] = segment.id;
            segmentStats[i++] = segment.liveMessages;
            segmentStats[i++] = segment.totalMessages;
        }
        return new Data(
                position,
                state.nextSeq,
                nextQueueId,
                state.highestMessageId,
                new HashMap<>(state.queues),
                new HashMap<>(state.metadata),
                segmentStats,
                state.messages.copyRecords(),
                state.extraEntries.copyRecords());
    }

    /** Writes {@code data} durably and atomically; returns the file's size in bytes. */
    static long write(Path directory, Data data, ChannelFactory channels) throws IOException {
        Path temp = directory.resolve(StoreFiles.CHECKPOINT_TEMP);
        CRC32C crc = new CRC32C();
        try (FileChannel channel = channels.open(
                temp,
                Set.of(StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE))) {
            DataOutputStream out = new DataOutputStream(new CheckedOutputStream(
                    new BufferedOutputStream(Channels.newOutputStream(channel), BUFFER_BYTES), crc));
            out.writeInt(MAGIC);
            out.writeInt(VERSION);
            out.writeLong(data.position());
            out.writeLong(data.nextSeq());
            out.writeInt(data.nextQueueId());
            out.writeLong(data.highestMessageId());
            out.writeInt(data.queues().size());
            for (Map.Entry<Integer, String> queue : data.queues().entrySet()) {
                out.writeInt(queue.getKey());
                writeBytes(out, queue.getValue().getBytes(StandardCharsets.UTF_8));
            }
            out.writeInt(data.metadata().size());
            for (Map.Entry<String, byte[]> entry : data.metadata().entrySet()) {
                writeBytes(out, entry.getKey().getBytes(StandardCharsets.UTF_8));
                writeBytes(out, entry.getValue());
            }
            out.writeInt(data.segmentStats().length / 3);
            writeLongs(out, data.segmentStats());
            out.writeLong(data.messageSlots().length / MessageIndex.STRIDE);
            writeLongs(out, data.messageSlots());
            out.writeLong(data.extraEntrySlots().length / QueueEntryIndex.STRIDE);
            writeLongs(out, data.extraEntrySlots());
            out.flush();
            int checksum = (int) crc.getValue();
            out.writeInt(checksum);
            out.flush();
            channel.force(true);
        }
        Files.move(temp, directory.resolve(StoreFiles.CHECKPOINT), StandardCopyOption.ATOMIC_MOVE);
        StoreFiles.fsyncDirectory(directory, channels);
        return Files.size(directory.resolve(StoreFiles.CHECKPOINT));
    }

    private static void writeBytes(DataOutputStream out, byte[] bytes) throws IOException {
        out.writeInt(bytes.length);
        out.write(bytes);
    }

    private static void writeLongs(DataOutputStream out, long[] values) throws IOException {
        for (long value : values) {
            out.writeLong(value);
        }
    }

    /** Reads the checkpoint, or returns null if there is none. */
    static Data read(Path directory, ChannelFactory channels) throws IOException {
        Path file = directory.resolve(StoreFiles.CHECKPOINT);
        if (!Files.exists(file)) {
            return null;
        }
        CRC32C crc = new CRC32C();
        try (FileChannel channel = channels.open(file, Set.of(StandardOpenOption.READ))) {
            long fileBytes = channel.size();
            DataInputStream in = new DataInputStream(new CheckedInputStream(
                    new BufferedInputStream(Channels.newInputStream(channel), BUFFER_BYTES), crc));
            if (fileBytes < 8 || in.readInt() != MAGIC || in.readInt() != VERSION) {
                throw new CorruptCheckpointException("bad magic or version");
            }
            long position = in.readLong();
            long nextSeq = in.readLong();
            int nextQueueId = in.readInt();
            long highestMessageId = in.readLong();
            int queueCount = checkedCount(in.readInt(), fileBytes);
            Map<Integer, String> queues = new HashMap<>();
            for (int i = 0; i < queueCount; i++) {
                int id = in.readInt();
                queues.put(id, new String(readBytes(in, fileBytes), StandardCharsets.UTF_8));
            }
            int metadataCount = checkedCount(in.readInt(), fileBytes);
            Map<String, byte[]> metadata = new HashMap<>();
            for (int i = 0; i < metadataCount; i++) {
                String key = new String(readBytes(in, fileBytes), StandardCharsets.UTF_8);
                metadata.put(key, readBytes(in, fileBytes));
            }
            long[] segmentStats = readLongs(in, checkedCount(in.readInt(), fileBytes) * 3L, fileBytes);
            long[] messageSlots = readLongs(in, in.readLong() * MessageIndex.STRIDE, fileBytes);
            long[] extraSlots = readLongs(in, in.readLong() * QueueEntryIndex.STRIDE, fileBytes);
            int expected = (int) crc.getValue();
            if (in.readInt() != expected) {
                throw new CorruptCheckpointException("checksum mismatch");
            }
            return new Data(
                    position,
                    nextSeq,
                    nextQueueId,
                    highestMessageId,
                    queues,
                    metadata,
                    segmentStats,
                    messageSlots,
                    extraSlots);
        } catch (java.io.EOFException e) {
            throw new CorruptCheckpointException("truncated");
        }
    }

    private static int checkedCount(int count, long fileBytes) throws CorruptCheckpointException {
        if (count < 0 || count > fileBytes) {
            throw new CorruptCheckpointException("impossible count " + count);
        }
        return count;
    }

    private static byte[] readBytes(DataInputStream in, long fileBytes) throws IOException {
        byte[] bytes = new byte[checkedCount(in.readInt(), fileBytes)];
        in.readFully(bytes);
        return bytes;
    }

    private static long[] readLongs(DataInputStream in, long count, long fileBytes) throws IOException {
        if (count < 0 || count * Long.BYTES > fileBytes) {
            throw new CorruptCheckpointException("impossible count " + count);
        }
        long[] values = new long[(int) count];
        for (int i = 0; i < values.length; i++) {
            values[i] = in.readLong();
        }
        return values;
    }

    /** Fills an empty state from {@code data} (recovery thread). */
    static void load(Data data, StoreState state) {
        state.nextSeq = data.nextSeq();
        state.highestMessageId = data.highestMessageId();
        state.queues.putAll(data.queues());
        state.metadata.putAll(data.metadata());
        long[] slots = data.messageSlots();
        for (int base = 0; base < slots.length; base += MessageIndex.STRIDE) {
            state.loadMessageSlot(slots, base);
        }
        long[] extras = data.extraEntrySlots();
        for (int base = 0; base < extras.length; base += QueueEntryIndex.STRIDE) {
            long entry = extras[base + QueueEntryIndex.ENTRY];
            state.loadExtraEntry(
                    extras[base] - 1, (int) extras[base + QueueEntryIndex.QUEUE], entry >>> 1, (entry & 1) != 0);
        }
    }
}
