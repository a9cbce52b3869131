package dev.courier.store;

/**
 * Configuration of a {@link MessageStore}. Immutable; build one from {@link #defaults()} and the
 * {@code with…} methods.
 *
 * @param segmentSizeBytes the size at which the active segment is sealed and a new one started
 *     (between 64 KiB and 1 GiB)
 * @param fsyncPolicy when writes are forced to the device
 * @param batchIntervalMs under {@link FsyncPolicy#BATCH}, the longest time written data waits for
 *     an fsync; ignored under {@link FsyncPolicy#ALWAYS}
 * @param maxBatchBytes the most bytes one group-commit write gathers (a single larger record is
 *     still written, alone)
 * @param checkpointIntervalBytes log bytes appended between two automatic checkpoints (the store
 *     also waits for at least twice the previous checkpoint's size, so a big index is not
 *     rewritten too often; a segment that died triggers one sooner so its space comes back); 0
 *     disables automatic checkpoints (then only {@link MessageStore#checkpoint()} and close write
 *     one, and dead segments wait for them)
 * @param compactionLiveRatio a sealed segment whose live messages are fewer than this fraction
 *     of the messages written to it is compacted in the background; 0 disables compaction
 * @param preallocateSegments whether the next segment file is zero-filled in the background while
 *     the active one fills, so that appends never grow a file and an fsync need not write its
 *     metadata (see {@link SegmentPreallocator}); costs one extra write of every segment
 */
public record StoreConfig(
        long segmentSizeBytes,
        FsyncPolicy fsyncPolicy,
        long batchIntervalMs,
        int maxBatchBytes,
        long checkpointIntervalBytes,
        double compactionLiveRatio,
        boolean preallocateSegments) {

    /** When the store forces written data to the device. */
    public enum FsyncPolicy {
        /** A future completes only after its record was fsynced (the default). */
        ALWAYS,
        /**
         * A future completes once its record was written to the operating system (it survives a
         * process crash, not a power loss); an fsync follows within {@code batchIntervalMs}.
         * RabbitMQ's trade-off, for users who opt in.
         */
        BATCH
    }

    public static final long DEFAULT_SEGMENT_SIZE_BYTES = 64L * 1024 * 1024;
    public static final int DEFAULT_MAX_BATCH_BYTES = 4 * 1024 * 1024;

    public StoreConfig {
        if (segmentSizeBytes < 64 * 1024 || segmentSizeBytes > 1024L * 1024 * 1024) {
            throw new IllegalArgumentException("segmentSizeBytes must be in [64 KiB, 1 GiB]: " + segmentSizeBytes);
        }
        if (fsyncPolicy == null) {
            throw new IllegalArgumentException("fsyncPolicy is required");
        }
        if (batchIntervalMs < 0) {
            throw new IllegalArgumentException("batchIntervalMs must be >= 0: " + batchIntervalMs);
        }
        if (maxBatchBytes < 4096) {
            throw new IllegalArgumentException("maxBatchBytes must be >= 4096: " + maxBatchBytes);
        }
        if (checkpointIntervalBytes < 0) {
            throw new IllegalArgumentException("checkpointIntervalBytes must be >= 0: " + checkpointIntervalBytes);
        }
        if (!(compactionLiveRatio >= 0 && compactionLiveRatio < 1)) {
            throw new IllegalArgumentException("compactionLiveRatio must be in [0, 1): " + compactionLiveRatio);
        }
    }

    /**
     * 64 MiB segments, fsync always, 4 MiB batches, checkpoint every segment, compact below 50%,
     * segments preallocated.
     */
    public static StoreConfig defaults() {
        return new StoreConfig(
                DEFAULT_SEGMENT_SIZE_BYTES,
                FsyncPolicy.ALWAYS,
                10,
                DEFAULT_MAX_BATCH_BYTES,
                DEFAULT_SEGMENT_SIZE_BYTES,
                0.5,
                true);
    }

    public StoreConfig withSegmentSizeBytes(long value) {
        return new StoreConfig(
                value,
                fsyncPolicy,
                batchIntervalMs,
                maxBatchBytes,
                checkpointIntervalBytes,
                compactionLiveRatio,
                preallocateSegments);
    }

    /** {@link FsyncPolicy#ALWAYS}. */
    public StoreConfig withFsyncAlways() {
        return new StoreConfig(
                segmentSizeBytes,
                FsyncPolicy.ALWAYS,
                batchIntervalMs,
                maxBatchBytes,
                checkpointIntervalBytes,
                compactionLiveRatio,
                preallocateSegments);
    }

    /** {@link FsyncPolicy#BATCH} with an fsync at most {@code intervalMs} after a write. */
    public StoreConfig withFsyncBatch(long intervalMs) {
        return new StoreConfig(
                segmentSizeBytes,
                FsyncPolicy.BATCH,
                intervalMs,
                maxBatchBytes,
                checkpointIntervalBytes,
                compactionLiveRatio,
                preallocateSegments);
    }

    public StoreConfig withMaxBatchBytes(int value) {
        return new StoreConfig(
                segmentSizeBytes,
                fsyncPolicy,
                batchIntervalMs,
                value,
                checkpointIntervalBytes,
                compactionLiveRatio,
                preallocateSegments);
    }

    public StoreConfig withCheckpointIntervalBytes(long value) {
        return new StoreConfig(
                segmentSizeBytes,
                fsyncPolicy,
                batchIntervalMs,
                maxBatchBytes,
                value,
                compactionLiveRatio,
                preallocateSegments);
    }

    public StoreConfig withCompactionLiveRatio(double value) {
        return new StoreConfig(
                segmentSizeBytes,
                fsyncPolicy,
                batchIntervalMs,
                maxBatchBytes,
                checkpointIntervalBytes,
                value,
                preallocateSegments);
    }

    public StoreConfig withPreallocateSegments(boolean value) {
        return new StoreConfig(
                segmentSizeBytes,
                fsyncPolicy,
                batchIntervalMs,
                maxBatchBytes,
                checkpointIntervalBytes,
                compactionLiveRatio,
                value);
    }
}
