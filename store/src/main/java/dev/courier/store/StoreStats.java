package dev.courier.store;

/**
 * Counters of a {@link MessageStore} since it was opened, for metrics and tests. A snapshot;
 * the fields are read one by one, so they may be a few records apart.
 *
 * @param batchesWritten group-commit writes (one write plus, under ALWAYS, one fsync each)
 * @param forces fsyncs of segment files
 * @param forceNanos time spent in those fsyncs (their average latency is forceNanos / forces)
 * @param recordsWritten records appended
 * @param recordsCancelled publishes that were never written because every queue removed the
 *     message before its batch reached the disk
 * @param bytesWritten bytes appended to segments
 * @param checkpointsWritten checkpoints made durable
 * @param segmentsDeleted segment files deleted because they held no live message
 * @param messagesRelocated live messages copied out of a segment by compaction
 * @param liveMessages messages on at least one queue
 * @param segments segment files in use
 * @param messagesRead messages read back from disk with {@link MessageStore#read}
 * @param segmentsPreallocated segments started from a zero-filled spare file ({@link
 *     StoreConfig#preallocateSegments()})
 */
public record StoreStats(
        long batchesWritten,
        long forces,
        long forceNanos,
        long recordsWritten,
        long recordsCancelled,
        long bytesWritten,
        long checkpointsWritten,
        long segmentsDeleted,
        long messagesRelocated,
        long liveMessages,
        int segments,
        long messagesRead,
        long segmentsPreallocated) {}
