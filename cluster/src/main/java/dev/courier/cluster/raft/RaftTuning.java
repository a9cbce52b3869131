package dev.courier.cluster.raft;

/**
 * The Ratis and batching settings of a {@link RaftNode}. {@link #defaults()} are meant for a small
 * cluster on modest hardware (a 2-core machine fails over in about a second); tests shrink the
 * timeouts and thresholds with the {@code with…} methods. Immutable.
 *
 * @param electionTimeoutMinMs a follower that hears nothing from the leader for a random time between
 *     this and {@link #electionTimeoutMaxMs} starts an election; lower fails over sooner but churns
 *     more on a starved CPU
 * @param electionTimeoutMaxMs see {@link #electionTimeoutMinMs}
 * @param batchMaxCommands at most this many commands go into one log entry
 * @param batchMaxBytes an entry is closed once its commands reach this many bytes (a larger single
 *     command gets an entry of its own)
 * @param batchMaxDelayMs while other entries are in flight, a partly filled entry waits at most this
 *     long (from its first command) for more commands; with nothing in flight it leaves at once
 * @param maxEntriesInFlight per group and node, entries proposed but not yet answered; further
 *     commands wait in the batcher (and so fill bigger entries)
 * @param maxEntryBytes the largest log entry (Ratis' appender buffer byte limit); bounds one command
 * @param snapshotThresholdEntries a replica snapshots its state after this many applied entries and
 *     then purges the log before the snapshot
 * @param logSegmentSizeBytes Raft log segment file size; only whole closed segments are purged (an
 *     entry larger than this gets a segment to itself)
 * @param requestTimeoutMs the Ratis client resends an entry not answered within this time; keep it
 *     well above the worst commit latency or resends pile up, but short: an entry sent to a leader
 *     that froze (SIGSTOP, a stalled VM) waits this long before it goes to the new leader
 *     (default 3 s, 20x the p99 commit latency measured here)
 * @param retryIntervalMs pause between attempts while a group has no reachable leader
 * @param retryWindowMs roughly how long an entry keeps being retried (e.g. through a leader
 *     election) before its submits fail: the Ratis client makes {@code retryWindowMs /
 *     retryIntervalMs} attempts, so the bound holds when attempts fail fast (no leader, connection
 *     refused); an attempt that times out counts {@link #requestTimeoutMs} on top
 */
public record RaftTuning(
        int electionTimeoutMinMs,
        int electionTimeoutMaxMs,
        int batchMaxCommands,
        int batchMaxBytes,
        int batchMaxDelayMs,
        int maxEntriesInFlight,
        int maxEntryBytes,
        long snapshotThresholdEntries,
        long logSegmentSizeBytes,
        int requestTimeoutMs,
        int retryIntervalMs,
        int retryWindowMs) {

    /** Room left in an entry for the framing Ratis adds around our payload. */
    static final int ENTRY_OVERHEAD_BYTES = 1024;

    public RaftTuning {
        require(electionTimeoutMinMs > 0, "electionTimeoutMinMs must be > 0");
        require(electionTimeoutMaxMs > electionTimeoutMinMs, "electionTimeoutMaxMs must be > electionTimeoutMinMs");
        require(batchMaxCommands > 0, "batchMaxCommands must be > 0");
        require(batchMaxBytes > 0, "batchMaxBytes must be > 0");
        require(batchMaxDelayMs >= 0, "batchMaxDelayMs must be >= 0");
        require(maxEntriesInFlight > 0, "maxEntriesInFlight must be > 0");
        require(maxEntryBytes >= 64 * 1024, "maxEntryBytes must be >= 64 KiB");
        // Ratis' gRPC message limit (64 MiB by default) must hold a full append batch.
        require(maxEntryBytes <= 32 * 1024 * 1024, "maxEntryBytes must be <= 32 MiB");
        require(batchMaxBytes <= maxEntryBytes - ENTRY_OVERHEAD_BYTES, "batchMaxBytes must fit in maxEntryBytes");
        require(snapshotThresholdEntries > 0, "snapshotThresholdEntries must be > 0");
        require(logSegmentSizeBytes >= 16 * 1024, "logSegmentSizeBytes must be >= 16 KiB");
        require(requestTimeoutMs > 0, "requestTimeoutMs must be > 0");
        require(retryIntervalMs > 0, "retryIntervalMs must be > 0");
        require(retryWindowMs >= retryIntervalMs, "retryWindowMs must be >= retryIntervalMs");
    }

    /**
     * Settings for production use: 0.5-1 s election timeouts, entries of up to 256 commands / 256
     * KiB / 2 ms, 8 in flight. Per-entry cost (Ratis' thread hand-offs on every node) dominates, so
     * fewer, fuller entries carry more: with 64 commands / 64 KiB / 32 in flight, three nodes on a
     * 2-core machine confirmed 3,500-5,200 msg/s (PerfTest, 100 outstanding, one consumer); with
     * these 7,300-8,100 msg/s at 40-60% of the CPU per message (docs/benchmarks.md, 2026-12-07).
     */
    public static RaftTuning defaults() {
        return new RaftTuning(
                500, 1000, 256, 256 * 1024, 2, 8, 4 * 1024 * 1024, 4096, 16L * 1024 * 1024, 3_000, 100, 30_000);
    }

    public RaftTuning withElectionTimeoutsMs(int minMs, int maxMs) {
        return new RaftTuning(
                minMs,
                maxMs,
                batchMaxCommands,
                batchMaxBytes,
                batchMaxDelayMs,
                maxEntriesInFlight,
                maxEntryBytes,
                snapshotThresholdEntries,
                logSegmentSizeBytes,
                requestTimeoutMs,
                retryIntervalMs,
                retryWindowMs);
    }

    public RaftTuning withBatching(int maxCommands, int maxBytes, int maxDelayMs, int maxInFlight) {
        return new RaftTuning(
                electionTimeoutMinMs,
                electionTimeoutMaxMs,
                maxCommands,
                maxBytes,
                maxDelayMs,
                maxInFlight,
                maxEntryBytes,
                snapshotThresholdEntries,
                logSegmentSizeBytes,
                requestTimeoutMs,
                retryIntervalMs,
                retryWindowMs);
    }

    /** How the Ratis client resends an entry and how long it keeps trying (see the record's parameters). */
    public RaftTuning withRetries(int newRequestTimeoutMs, int newRetryIntervalMs, int newRetryWindowMs) {
        return new RaftTuning(
                electionTimeoutMinMs,
                electionTimeoutMaxMs,
                batchMaxCommands,
                batchMaxBytes,
                batchMaxDelayMs,
                maxEntriesInFlight,
                maxEntryBytes,
                snapshotThresholdEntries,
                logSegmentSizeBytes,
                newRequestTimeoutMs,
                newRetryIntervalMs,
                newRetryWindowMs);
    }

    /** Snapshot every {@code entries} applied entries, in log segments of {@code segmentBytes}. */
    public RaftTuning withSnapshots(long entries, long segmentBytes) {
        return new RaftTuning(
                electionTimeoutMinMs,
                electionTimeoutMaxMs,
                batchMaxCommands,
                batchMaxBytes,
                batchMaxDelayMs,
                maxEntriesInFlight,
                maxEntryBytes,
                entries,
                segmentBytes,
                requestTimeoutMs,
                retryIntervalMs,
                retryWindowMs);
    }

    /** Largest command {@link RaftNode#submit} accepts: it must fit in an entry of its own. */
    public int maxCommandBytes() {
        return maxEntryBytes - ENTRY_OVERHEAD_BYTES - EntryCodec.ENTRY_HEADER_BYTES - Integer.BYTES;
    }

    private static void require(boolean condition, String message) {
        if (!condition) {
            throw new IllegalArgumentException(message);
        }
    }
}
