package dev.courier.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Rebuilds the {@link StoreState} at open: loads the checkpoint if there is a usable one, then
 * replays every record after its position. Damage is handled as the package documentation says:
 * a torn or corrupt tail of the last segment is truncated; a damaged stretch anywhere else is
 * reported and skipped to the next valid record. Runs on the opening thread, before the writer
 * starts.
 */
final class Recovery {
    private static final Logger LOG = LoggerFactory.getLogger(Recovery.class);

    private final Path directory;
    private final ChannelFactory channels;
    private final StoreState state = new StoreState();
    private final List<RecoveryReport.CorruptRegion> corruptRegions = new ArrayList<>();
    private int[] queueIdScratch = new int[16];
    private long recordsReplayed;
    private long bytesReplayed;
    private long truncatedBytes;
    private int maxQueueId;

    /** What recovery produced. */
    record Result(
            StoreState state,
            RecoveryReport report,
            RecoveredState recovered,
            long nextSegmentId,
            int nextQueueId,
            long bytesReplayed) {}

    private Recovery(Path directory, ChannelFactory channels) {
        this.directory = directory;
        this.channels = channels;
    }

    static Result run(Path directory, ChannelFactory channels) throws IOException {
        return new Recovery(directory, channels).run();
    }

    private Result run() throws IOException {
        long startNs = System.nanoTime();
        TreeMap<Long, Path> files = listSegments();
        Checkpoint.Data checkpoint = readCheckpoint(files);
        Map<Long, long[]> checkpointCounts = new HashMap<>();
        long checkpointSegment = -1;
        if (checkpoint != null) {
            Checkpoint.load(checkpoint, state);
            checkpointSegment = RecordFormat.segmentOf(checkpoint.position());
            long[] stats = checkpoint.segmentStats();
            for (int i = 0; i < stats.length; i += 3) {
                checkpointCounts.put(stats[i], new long[] {stats[i + 1], stats[i + 2]});
            }
            for (int queueId : checkpoint.queues().keySet()) {
                maxQueueId = Math.max(maxQueueId, queueId);
            }
        }
        long lastSegmentId = files.isEmpty() ? 0 : files.lastKey();
        for (Map.Entry<Long, Path> file : files.entrySet()) {
            long segmentId = file.getKey();
            Path path = file.getValue();
            long[] counts = checkpointCounts.get(segmentId);
            if (checkpoint != null && segmentId < checkpointSegment) {
                if (counts == null || counts[0] == 0) {
                    // dead when the checkpoint was taken: its deletion was pending
                    Files.deleteIfExists(path);
                    continue;
                }
                FileChannel channel = channels.open(path, Set.of(StandardOpenOption.READ));
                Segment segment = new Segment(segmentId, path, channel, channel.size());
                segment.liveMessages = counts[0];
                segment.totalMessages = counts[1];
                state.segments.put(segmentId, segment);
                continue;
            }
            long startOffset = checkpoint != null && segmentId == checkpointSegment
                    ? RecordFormat.offsetOf(checkpoint.position())
                    : RecordFormat.SEGMENT_HEADER_BYTES;
            replaySegment(segmentId, path, counts, startOffset, segmentId == lastSegmentId);
        }
        if (checkpoint != null) {
            dropMessagesOfMissingSegments(checkpointCounts);
        }
        int nextQueueId = Math.max(maxQueueId + 1, checkpoint == null ? 1 : checkpoint.nextQueueId());
        RecoveredState recovered = state.toRecoveredState();
        long durationMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs);
        RecoveryReport report = new RecoveryReport(
                state.queues.size(),
                state.messages.size(),
                state.queueEntries(),
                state.metadata.size(),
                state.segments.size(),
                checkpoint != null,
                recordsReplayed,
                bytesReplayed,
                truncatedBytes,
                corruptRegions,
                state.danglingReferences,
                durationMs);
        LOG.info(
                "Recovered store {} in {} ms: {} queue(s), {} message(s) in {} queue entries, {} metadata key(s),"
                        + " {} segment(s); {} record(s) / {} bytes replayed {}; {} bytes truncated, {} corrupt region(s)",
                directory,
                durationMs,
                report.queues(),
                report.messages(),
                report.queueEntries(),
                report.metadataEntries(),
                report.segments(),
                recordsReplayed,
                bytesReplayed,
                checkpoint != null ? "after the checkpoint" : "(no checkpoint)",
                truncatedBytes,
                corruptRegions.size());
        state.danglingReferences = 0;
        return new Result(state, report, recovered, lastSegmentId + 1, nextQueueId, bytesReplayed);
    }

    private TreeMap<Long, Path> listSegments() throws IOException {
        TreeMap<Long, Path> files = new TreeMap<>();
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(directory, "*.seg")) {
            for (Path path : stream) {
                long id = Segment.parseId(path.getFileName().toString());
                if (id >= 0) {
                    files.put(id, path);
                }
            }
        }
        return files;
    }

    private Checkpoint.Data readCheckpoint(TreeMap<Long, Path> files) throws IOException {
        Checkpoint.Data checkpoint;
        try {
            checkpoint = Checkpoint.read(directory, channels);
        } catch (Checkpoint.CorruptCheckpointException e) {
            LOG.error(
                    "Checkpoint in {} is damaged ({}); replaying the whole log instead. Messages acked in"
                            + " segments already deleted may reappear.",
                    directory,
                    e.getMessage());
            return null;
        }
        if (checkpoint == null) {
            return null;
        }
        long segmentId = RecordFormat.segmentOf(checkpoint.position());
        Path file = files.get(segmentId);
        if (file == null || Files.size(file) < RecordFormat.offsetOf(checkpoint.position())) {
            // only possible if fsynced log data was lost: the checkpoint describes records that are gone
            LOG.error(
                    "Checkpoint in {} is at {}, beyond the end of the log; ignoring it and replaying the log",
                    directory,
                    RecordFormat.describe(checkpoint.position()));
            return null;
        }
        return checkpoint;
    }

    private void replaySegment(long segmentId, Path path, long[] counts, long startOffset, boolean last)
            throws IOException {
        FileChannel channel = channels.open(path, Set.of(StandardOpenOption.READ, StandardOpenOption.WRITE));
        long sizeBytes = channel.size();
        if (sizeBytes < RecordFormat.SEGMENT_HEADER_BYTES) {
            channel.close();
            if (last) {
                LOG.warn("Segment {} has a torn header ({} bytes); deleting it", path, sizeBytes);
            } else {
                corruptRegions.add(
                        new RecoveryReport.CorruptRegion(segmentId, 0, sizeBytes, "segment shorter than its header"));
                LOG.warn("Segment {} is shorter than its header ({} bytes); deleting it", path, sizeBytes);
            }
            truncatedBytes += sizeBytes;
            Files.delete(path);
            return;
        }
        if (last && startOffset == RecordFormat.SEGMENT_HEADER_BYTES && neverWritten(channel, sizeBytes)) {
            // a spare moved into place as the last segment, and a crash before its header was forced
            channel.close();
            LOG.info("Segment {} was created but never written (all zero); deleting it", path);
            Files.delete(path);
            return;
        }
        Segment segment = new Segment(segmentId, path, channel, sizeBytes);
        if (counts != null) {
            segment.liveMessages = counts[0];
            segment.totalMessages = counts[1];
        }
        state.segments.put(segmentId, segment);
        if (startOffset == RecordFormat.SEGMENT_HEADER_BYTES) {
            checkHeader(segment);
        }
        SegmentScanner scanner = new SegmentScanner(channel, startOffset, sizeBytes);
        SegmentScanner.Result result;
        while ((result = scanner.next()) != SegmentScanner.Result.END) {
            if (result == SegmentScanner.Result.RECORD && scanner.type() == RecordFormat.TX_GROUP) {
                if (!checkGroup(segment, scanner, last)) {
                    break; // a torn group at the end of the log: truncated
                }
                continue; // intact: its members follow as ordinary records
            }
            if (result == SegmentScanner.Result.RECORD) {
                long location = RecordFormat.location(segmentId, scanner.recordOffset());
                try {
                    apply(scanner.type(), scanner.payload(), location, scanner.recordBytes());
                } catch (RuntimeException e) {
                    // a valid checksum over a payload we cannot parse: report it like damage
                    corruptRegions.add(new RecoveryReport.CorruptRegion(
                            segmentId, scanner.recordOffset(), scanner.recordBytes(), "malformed payload: " + e));
                    LOG.warn("Skipped a malformed record at {}: {}", RecordFormat.describe(location), e.toString());
                }
                recordsReplayed++;
                bytesReplayed += scanner.recordBytes();
                continue;
            }
            long damageOffset = scanner.damageOffset();
            if (scanner.resynced()) {
                long skipped = scanner.position() - damageOffset;
                corruptRegions.add(new RecoveryReport.CorruptRegion(
                        segmentId, damageOffset, skipped, "invalid frame or checksum"));
                LOG.warn(
                        "Corrupt record in segment {} at offset {}: skipped {} bytes to the next valid record",
                        segmentId,
                        damageOffset,
                        skipped);
            } else if (last) {
                long cut = sizeBytes - damageOffset;
                channel.truncate(damageOffset);
                channel.force(true);
                segment.sizeBytes = damageOffset;
                truncatedBytes += cut;
                LOG.warn(
                        "Truncated a torn or corrupt tail of segment {} at offset {}: {} bytes removed, {} records kept",
                        segmentId,
                        damageOffset,
                        cut,
                        recordsReplayed);
            } else {
                corruptRegions.add(new RecoveryReport.CorruptRegion(
                        segmentId, damageOffset, sizeBytes - damageOffset, "damaged end of a sealed segment"));
                LOG.warn(
                        "Corrupt data at the end of sealed segment {} from offset {}: {} bytes skipped",
                        segmentId,
                        damageOffset,
                        sizeBytes - damageOffset);
            }
        }
        long zeroTail = scanner.zeroTailOffset();
        if (zeroTail >= 0 && zeroTail < segment.sizeBytes) {
            // the unwritten rest of a preallocated segment (see SegmentPreallocator): not lost data
            channel.truncate(zeroTail);
            segment.sizeBytes = zeroTail;
            LOG.debug("Segment {} ends at offset {}; the zero-filled rest was cut", segmentId, zeroTail);
        }
    }

    /** Whether a segment is all zero, header included: created from a spare and never written. */
    private static boolean neverWritten(FileChannel channel, long sizeBytes) throws IOException {
        ByteBuffer header = readHeader(channel);
        while (header.hasRemaining()) {
            if (header.get() != 0) {
                return false;
            }
        }
        SegmentScanner scanner = new SegmentScanner(channel, 0, sizeBytes);
        return scanner.next() == SegmentScanner.Result.END && scanner.zeroTailOffset() == 0;
    }

    /**
     * At a TX_GROUP record: whether every member record it announces follows intact. If so the
     * scanner goes on to replay them. If not, none of them is applied: a group cut short by the end
     * of the last segment (a crash while writing it) is truncated away like any torn tail (returns
     * false); a damaged group anywhere else is reported and skipped whole.
     */
    private boolean checkGroup(Segment segment, SegmentScanner scanner, boolean last) throws IOException {
        long groupOffset = scanner.recordOffset();
        long membersStart = groupOffset + scanner.recordBytes();
        int count = scanner.payload().getInt(0);
        long groupEnd = membersStart + scanner.payload().getInt(4);
        SegmentScanner members = new SegmentScanner(segment.channel, membersStart, segment.sizeBytes);
        int intact = 0;
        SegmentScanner.Result result = SegmentScanner.Result.END;
        while (intact < count && (result = members.next()) == SegmentScanner.Result.RECORD) {
            if (members.recordOffset() + members.recordBytes() > groupEnd) {
                break;
            }
            intact++;
        }
        if (intact == count && members.position() == groupEnd) {
            recordsReplayed++;
            bytesReplayed += scanner.recordBytes();
            return true;
        }
        boolean tornTail = groupEnd > segment.sizeBytes
                || result == SegmentScanner.Result.END
                || (result == SegmentScanner.Result.DAMAGE && !members.resynced());
        if (last && tornTail) {
            long cut = segment.sizeBytes - groupOffset;
            segment.channel.truncate(groupOffset);
            segment.channel.force(true);
            segment.sizeBytes = groupOffset;
            truncatedBytes += cut;
            LOG.warn(
                    "Truncated a transaction torn at the end of segment {} at offset {}: {} bytes removed, none of"
                            + " its {} records applied",
                    segment.id,
                    groupOffset,
                    cut,
                    count);
            return false;
        }
        long skipTo = Math.min(groupEnd, segment.sizeBytes);
        corruptRegions.add(new RecoveryReport.CorruptRegion(
                segment.id, groupOffset, skipTo - groupOffset, "damaged transaction: none of its records applied"));
        LOG.warn(
                "Damaged transaction in segment {} at offset {}: {} of its {} records intact; none applied, {} bytes"
                        + " skipped",
                segment.id,
                groupOffset,
                intact,
                count,
                skipTo - groupOffset);
        scanner.skipTo(skipTo);
        return true;
    }

    private void checkHeader(Segment segment) throws IOException {
        ByteBuffer header = readHeader(segment.channel);
        if (header.getInt(0) == RecordFormat.SEGMENT_MAGIC && header.getInt(4) != RecordFormat.SEGMENT_VERSION) {
            throw new IOException(unsupportedFormat(
                    directory,
                    "segment " + segment.path.getFileName(),
                    header.getInt(4),
                    RecordFormat.SEGMENT_VERSION));
        }
        if (header.getInt(0) != RecordFormat.SEGMENT_MAGIC
                || header.getInt(4) != RecordFormat.SEGMENT_VERSION
                || header.getLong(8) != segment.id) {
            corruptRegions.add(new RecoveryReport.CorruptRegion(
                    segment.id, 0, RecordFormat.SEGMENT_HEADER_BYTES, "bad segment header"));
            LOG.warn("Segment {} has a bad header; reading its records anyway", segment.path);
        }
    }

    /** The segment header's bytes (fewer if the file is shorter), flipped for reading. */
    private static ByteBuffer readHeader(FileChannel channel) throws IOException {
        ByteBuffer header = ByteBuffer.allocate(RecordFormat.SEGMENT_HEADER_BYTES);
        while (header.hasRemaining() && channel.read(header, header.position()) >= 0) {
            // read fully
        }
        return header.flip();
    }

    /** The error for a data directory written in another on-disk format: refused, never misread. */
    static String unsupportedFormat(Path directory, String file, int foundVersion, int supportedVersion) {
        return "Store " + directory + " was written in on-disk format version " + foundVersion + " (" + file
                + "); this build reads only version " + supportedVersion
                + ". Drain the queues with the version that wrote it, or move the directory away to start empty.";
    }

    private void apply(int type, ByteBuffer payload, long location, int recordBytes) {
        switch (type) {
            case RecordFormat.MESSAGE -> {
                long messageId = payload.getLong(0);
                int queueCount = Short.toUnsignedInt(payload.getShort(RecordFormat.QUEUE_COUNT_AT));
                if (queueIdScratch.length < queueCount) {
                    queueIdScratch = new int[queueCount];
                }
                for (int i = 0; i < queueCount; i++) {
                    queueIdScratch[i] = payload.getInt(RecordFormat.QUEUE_COUNT_AT + 2 + 4 * i);
                }
                state.applyMessage(
                        messageId,
                        payload.getLong(RecordFormat.ATTRIBUTES_AT),
                        location,
                        storedBytes(recordBytes, queueCount),
                        queueIdScratch,
                        queueCount);
            }
            case RecordFormat.RELOCATED ->
                state.applyRelocated(payload.getLong(0), -1, location, storedBytes(recordBytes, 0));
            case RecordFormat.ENQUEUE, RecordFormat.REMOVE, RecordFormat.DELIVERED -> {
                int queueId = payload.getInt(0);
                int count = payload.getInt(4);
                if (count < 0 || 8 + 8L * count > payload.remaining()) {
                    throw new IllegalArgumentException("count " + count + " exceeds the record");
                }
                for (int i = 0; i < count; i++) {
                    long messageId = payload.getLong(8 + 8 * i);
                    if (type == RecordFormat.ENQUEUE) {
                        state.applyEnqueue(queueId, messageId);
                    } else if (type == RecordFormat.REMOVE) {
                        state.applyRemove(queueId, messageId);
                    } else {
                        state.applyDelivered(queueId, messageId);
                    }
                }
            }
            case RecordFormat.QUEUE_CREATE -> {
                int queueId = payload.getInt(0);
                maxQueueId = Math.max(maxQueueId, queueId);
                state.applyQueueCreate(queueId, utf8(payload, 4, payload.remaining() - 4));
            }
            case RecordFormat.QUEUE_DELETE -> state.applyQueueDelete(payload.getInt(0));
            case RecordFormat.QUEUE_PURGE -> state.applyQueuePurge(payload.getInt(0));
            case RecordFormat.META_PUT -> {
                int keyBytes = payload.getInt(0);
                String key = utf8(payload, 4, keyBytes);
                byte[] value = new byte[payload.remaining() - 4 - keyBytes];
                payload.get(4 + keyBytes, value);
                state.applyMetadataPut(key, value);
            }
            case RecordFormat.META_DELETE -> state.applyMetadataDelete(utf8(payload, 0, payload.remaining()));
            case RecordFormat.TX_GROUP -> {} // checked in replaySegment; its members follow
            default -> throw new IllegalArgumentException("unknown record type " + type);
        }
    }

    private static int storedBytes(int recordBytes, int queueCount) {
        int storedBytes = recordBytes - RecordFormat.messagePrefixBytes(queueCount);
        if (storedBytes < 0) {
            throw new IllegalArgumentException("a message record of " + recordBytes + " bytes is too short");
        }
        return storedBytes;
    }

    private static String utf8(ByteBuffer payload, int offset, int length) {
        byte[] bytes = new byte[length];
        payload.get(offset, bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    private void dropMessagesOfMissingSegments(Map<Long, long[]> checkpointCounts) {
        for (Map.Entry<Long, long[]> entry : checkpointCounts.entrySet()) {
            if (entry.getValue()[0] > 0 && !state.segments.containsKey(entry.getKey())) {
                long dropped = state.dropMessagesIn(entry.getKey());
                corruptRegions.add(new RecoveryReport.CorruptRegion(entry.getKey(), 0, 0, "segment file missing"));
                LOG.error(
                        "Segment {} is missing from {}; {} message(s) stored in it are lost",
                        entry.getKey(),
                        directory,
                        dropped);
            }
        }
    }
}
