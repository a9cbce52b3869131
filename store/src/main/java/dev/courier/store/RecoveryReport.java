package dev.courier.store;

import java.util.List;

/**
 * What {@link MessageStore#open} found and rebuilt. Also logged at INFO (WARN for damage).
 *
 * @param queues durable queues recovered
 * @param messages live messages (each counted once however many queues hold it)
 * @param queueEntries queue entries (a message on three queues counts three times)
 * @param metadataEntries metadata keys recovered
 * @param segments segment files in use after recovery
 * @param checkpointUsed whether a checkpoint was loaded (so only the log after it was replayed)
 * @param recordsReplayed log records read after the checkpoint (all of them without one)
 * @param bytesReplayed log bytes read after the checkpoint
 * @param truncatedBytes bytes of a torn or corrupt tail cut off the last segment
 * @param corruptRegions damaged stretches in the middle of the log that were skipped
 * @param danglingReferences records naming a message or queue that was already gone (harmless:
 *     e.g. an ack for a message whose publish was cancelled)
 * @param durationMs wall time the recovery took
 */
public record RecoveryReport(
        int queues,
        long messages,
        long queueEntries,
        int metadataEntries,
        int segments,
        boolean checkpointUsed,
        long recordsReplayed,
        long bytesReplayed,
        long truncatedBytes,
        List<CorruptRegion> corruptRegions,
        long danglingReferences,
        long durationMs) {

    /**
     * A damaged stretch of a segment that recovery skipped.
     *
     * @param segmentId the segment's number (its file name)
     * @param offsetBytes where the damage starts
     * @param skippedBytes how many bytes were skipped to the next valid record (or the end)
     * @param reason what was wrong
     */
    public record CorruptRegion(long segmentId, long offsetBytes, long skippedBytes, String reason) {}

    public RecoveryReport {
        corruptRegions = List.copyOf(corruptRegions);
    }
}
