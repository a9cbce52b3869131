package dev.courier.store;

import java.io.IOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
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
 * messageCount:int64 (5 x int64 index slot)*
 * extraEntryCount:int64 (3 x int64 index slot)*
 * crc32c:int32 over everything before it
 * </pre>
 */
final class Checkpoint {
    private static final int MAGIC = 0x43524350; // "CRCP"
    /** 2: five longs per message slot (the attributes were added). */
    private static final int VERSION = 2;

    private static final int BUFFER_BYTES = 1 << 20;

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
        long fileBytes;
        try (FileChannel channel = channels.open(
                temp,
                Set.of(StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE))) {
            Output out = new Output(channel);
            out.putInt(MAGIC);
            out.putInt(VERSION);
            out.putLong(data.position());
            out.putLong(data.nextSeq());
            out.putInt(data.nextQueueId());
            out.putLong(data.highestMessageId());
            out.putInt(data.queues().size());
            for (Map.Entry<Integer, String> queue : data.queues().entrySet()) {
                out.putInt(queue.getKey());
                out.putBytes(queue.getValue().getBytes(StandardCharsets.UTF_8));
            }
            out.putInt(data.metadata().size());
            for (Map.Entry<String, byte[]> entry : data.metadata().entrySet()) {
                out.putBytes(entry.getKey().getBytes(StandardCharsets.UTF_8));
                out.putBytes(entry.getValue());
            }
            out.putInt(data.segmentStats().length / 3);
            out.putLongs(data.segmentStats());
            out.putLong(data.messageSlots().length / MessageIndex.STRIDE);
            out.putLongs(data.messageSlots());
            out.putLong(data.extraEntrySlots().length / QueueEntryIndex.STRIDE);
            out.putLongs(data.extraEntrySlots());
            fileBytes = out.finish();
            channel.force(true);
        }
        Files.move(temp, directory.resolve(StoreFiles.CHECKPOINT), StandardCopyOption.ATOMIC_MOVE);
        StoreFiles.fsyncDirectory(directory, channels);
        return fileBytes;
    }

    /** Reads the checkpoint, or returns null if there is none. */
    static Data read(Path directory, ChannelFactory channels) throws IOException {
        Path file = directory.resolve(StoreFiles.CHECKPOINT);
        if (!Files.exists(file)) {
            return null;
        }
        try (FileChannel channel = channels.open(file, Set.of(StandardOpenOption.READ))) {
            long fileBytes = channel.size();
            if (fileBytes < 12 || !checksumMatches(channel, fileBytes)) {
                throw new CorruptCheckpointException("checksum mismatch or truncated file");
            }
            Input in = new Input(channel, fileBytes - 4);
            if (in.getInt() != MAGIC) {
                throw new CorruptCheckpointException("bad magic");
            }
            int version = in.getInt();
            if (version != VERSION) {
                // intact but of another format: refused, since the log it describes is too
                throw new IOException(Recovery.unsupportedFormat(directory, "checkpoint", version, VERSION));
            }
            long position = in.getLong();
            long nextSeq = in.getLong();
            int nextQueueId = in.getInt();
            long highestMessageId = in.getLong();
            int queueCount = checkedCount(in.getInt(), fileBytes);
            Map<Integer, String> queues = new HashMap<>();
            for (int i = 0; i < queueCount; i++) {
                int id = in.getInt();
                queues.put(id, new String(in.getBytes(fileBytes), StandardCharsets.UTF_8));
            }
            int metadataCount = checkedCount(in.getInt(), fileBytes);
            Map<String, byte[]> metadata = new HashMap<>();
            for (int i = 0; i < metadataCount; i++) {
                String key = new String(in.getBytes(fileBytes), StandardCharsets.UTF_8);
                metadata.put(key, in.getBytes(fileBytes));
            }
            long[] segmentStats = in.getLongs(checkedCount(in.getInt(), fileBytes) * 3L, fileBytes);
            long[] messageSlots = in.getLongs(in.getLong() * MessageIndex.STRIDE, fileBytes);
            long[] extraSlots = in.getLongs(in.getLong() * QueueEntryIndex.STRIDE, fileBytes);
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
        } catch (BufferUnderflowException e) {
            throw new CorruptCheckpointException("truncated");
        }
    }

    /** Verifies the trailing CRC32C against everything before it, in one pass over the file. */
    private static boolean checksumMatches(FileChannel channel, long fileBytes) throws IOException {
        CRC32C crc = new CRC32C();
        ByteBuffer buffer = ByteBuffer.allocateDirect(BUFFER_BYTES);
        long position = 0;
        long end = fileBytes - 4;
        while (position < end) {
            buffer.clear().limit((int) Math.min(BUFFER_BYTES, end - position));
            int read = channel.read(buffer, position);
            if (read < 0) {
                return false;
            }
            position += read;
            buffer.flip();
            crc.update(buffer);
        }
        ByteBuffer trailer = ByteBuffer.allocate(4);
        while (trailer.hasRemaining() && channel.read(trailer, end + trailer.position()) >= 0) {
            // read fully
        }
        return trailer.position() == 4 && trailer.getInt(0) == (int) crc.getValue();
    }

    private static int checkedCount(int count, long fileBytes) throws CorruptCheckpointException {
        if (count < 0 || count > fileBytes) {
            throw new CorruptCheckpointException("impossible count " + count);
        }
        return count;
    }

    /** Buffered, checksummed sequential writer (bulk puts: a checkpoint can be tens of MB). */
    private static final class Output {
        private final FileChannel channel;
        private final ByteBuffer buffer = ByteBuffer.allocateDirect(BUFFER_BYTES);
        private final CRC32C crc = new CRC32C();
        private long written;

        Output(FileChannel channel) {
            this.channel = channel;
        }

        private void ensure(int bytes) throws IOException {
            if (buffer.remaining() < bytes) {
                flush(true);
            }
        }

        private void flush(boolean checksummed) throws IOException {
            buffer.flip();
            if (checksummed) {
                crc.update(buffer.duplicate());
            }
            while (buffer.hasRemaining()) {
                written += channel.write(buffer, written);
            }
            buffer.clear();
        }

        void putInt(int value) throws IOException {
            ensure(4);
            buffer.putInt(value);
        }

        void putLong(long value) throws IOException {
            ensure(8);
            buffer.putLong(value);
        }

        void putBytes(byte[] bytes) throws IOException {
            putInt(bytes.length);
            int offset = 0;
            while (offset < bytes.length) {
                ensure(1);
                int chunk = Math.min(buffer.remaining(), bytes.length - offset);
                buffer.put(bytes, offset, chunk);
                offset += chunk;
            }
        }

        void putLongs(long[] values) throws IOException {
            int offset = 0;
            while (offset < values.length) {
                ensure(8);
                int chunk = Math.min(buffer.remaining() / 8, values.length - offset);
                buffer.asLongBuffer().put(values, offset, chunk);
                buffer.position(buffer.position() + chunk * 8);
                offset += chunk;
            }
        }

        /** Appends the CRC of everything so far; returns the file size. */
        long finish() throws IOException {
            flush(true);
            buffer.putInt((int) crc.getValue());
            flush(false);
            return written;
        }
    }

    /** Buffered sequential reader of the checkpoint body (its CRC was verified before). */
    private static final class Input {
        private final FileChannel channel;
        private final long endBytes;
        private final ByteBuffer buffer = ByteBuffer.allocateDirect(BUFFER_BYTES);
        private long position;

        Input(FileChannel channel, long endBytes) {
            this.channel = channel;
            this.endBytes = endBytes;
            buffer.limit(0);
        }

        private void ensure(int bytes) throws IOException {
            if (buffer.remaining() >= bytes) {
                return;
            }
            buffer.compact();
            buffer.limit((int) Math.min(buffer.capacity(), buffer.position() + (endBytes - position)));
            while (buffer.hasRemaining()) {
                int read = channel.read(buffer, position);
                if (read < 0) {
                    break;
                }
                position += read;
            }
            buffer.flip();
            if (buffer.remaining() < bytes) {
                throw new BufferUnderflowException();
            }
        }

        int getInt() throws IOException {
            ensure(4);
            return buffer.getInt();
        }

        long getLong() throws IOException {
            ensure(8);
            return buffer.getLong();
        }

        byte[] getBytes(long fileBytes) throws IOException {
            byte[] bytes = new byte[checkedCount(getInt(), fileBytes)];
            int offset = 0;
            while (offset < bytes.length) {
                ensure(1);
                int chunk = Math.min(buffer.remaining(), bytes.length - offset);
                buffer.get(bytes, offset, chunk);
                offset += chunk;
            }
            return bytes;
        }

        long[] getLongs(long count, long fileBytes) throws IOException {
            if (count < 0 || count * Long.BYTES > fileBytes) {
                throw new CorruptCheckpointException("impossible count " + count);
            }
            long[] values = new long[(int) count];
            int offset = 0;
            while (offset < values.length) {
                ensure(8);
                int chunk = Math.min(buffer.remaining() / 8, values.length - offset);
                buffer.asLongBuffer().get(values, offset, chunk);
                buffer.position(buffer.position() + chunk * 8);
                offset += chunk;
            }
            return values;
        }
    }

    /** Fills an empty state from {@code data} (recovery thread). */
    static void load(Data data, StoreState state) {
        state.nextSeq = data.nextSeq();
        state.highestMessageId = data.highestMessageId();
        state.queues.putAll(data.queues());
        state.metadata.putAll(data.metadata());
        long[] slots = data.messageSlots();
        state.messages.reserve(slots.length / MessageIndex.STRIDE);
        for (int base = 0; base < slots.length; base += MessageIndex.STRIDE) {
            state.loadMessageSlot(slots, base);
        }
        long[] extras = data.extraEntrySlots();
        state.extraEntries.reserve(extras.length / QueueEntryIndex.STRIDE);
        for (int base = 0; base < extras.length; base += QueueEntryIndex.STRIDE) {
            long entry = extras[base + QueueEntryIndex.ENTRY];
            state.loadExtraEntry(
                    extras[base] - 1, (int) extras[base + QueueEntryIndex.QUEUE], entry >>> 1, (entry & 1) != 0);
        }
    }
}
