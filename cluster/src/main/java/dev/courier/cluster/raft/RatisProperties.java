package dev.courier.cluster.raft;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.ratis.RaftConfigKeys;
import org.apache.ratis.client.RaftClientConfigKeys;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.retry.RetryPolicies;
import org.apache.ratis.retry.RetryPolicy;
import org.apache.ratis.rpc.SupportedRpcType;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.util.SizeInBytes;
import org.apache.ratis.util.TimeDuration;

/**
 * Turns {@link RaftTuning} into Ratis properties. Only the settings that matter are set (see
 * DESIGN.md, "Replication"): gRPC transport; the log write buffer at least the appender byte limit
 * + 8 (Ratis refuses to start otherwise); the client's outstanding-request limit above our in-flight
 * limit and its request timeout well above commit latency, or requests are resent and throughput
 * collapses.
 */
final class RatisProperties {
    private static final long PREALLOCATED_SEGMENT_BYTES = 4L * 1024 * 1024;
    private static final int SNAPSHOTS_KEPT = 2;
    private static final int PURGE_GAP_MAX_ENTRIES = 1024;

    private RatisProperties() {}

    static RaftProperties server(RaftTuning tuning, InetSocketAddress bind, Path storageDir) {
        RaftProperties properties = new RaftProperties();
        RaftConfigKeys.Rpc.setType(properties, SupportedRpcType.GRPC);
        GrpcConfigKeys.Server.setHost(properties, bind.getHostString());
        GrpcConfigKeys.Server.setPort(properties, bind.getPort());
        RaftServerConfigKeys.setStorageDir(properties, List.of(storageDir.toFile()));

        TimeDuration min = ms(tuning.electionTimeoutMinMs());
        TimeDuration max = ms(tuning.electionTimeoutMaxMs());
        RaftServerConfigKeys.Rpc.setTimeoutMin(properties, min);
        RaftServerConfigKeys.Rpc.setTimeoutMax(properties, max);
        RaftServerConfigKeys.Rpc.setFirstElectionTimeoutMin(properties, min);
        RaftServerConfigKeys.Rpc.setFirstElectionTimeoutMax(properties, max);

        RaftServerConfigKeys.Log.Appender.setBufferByteLimit(properties, SizeInBytes.valueOf(tuning.maxEntryBytes()));
        // Ratis waits 10 ms between two appendEntries to a follower by default: with commits
        // needing a follower, that wait is most of a publish's latency (Ozone sets it to 0 too)
        RaftServerConfigKeys.Log.Appender.setWaitTimeMin(properties, TimeDuration.ZERO);
        // 4 bytes of length + entry + 4 bytes of checksum, allocated once per group.
        RaftServerConfigKeys.Log.setWriteBufferSize(properties, SizeInBytes.valueOf(tuning.maxEntryBytes() + 8L));
        RaftServerConfigKeys.Log.setSegmentSizeMax(properties, SizeInBytes.valueOf(tuning.logSegmentSizeBytes()));
        RaftServerConfigKeys.Log.setPreallocatedSize(
                properties, SizeInBytes.valueOf(Math.min(PREALLOCATED_SEGMENT_BYTES, tuning.logSegmentSizeBytes())));

        RaftServerConfigKeys.Snapshot.setAutoTriggerEnabled(properties, true);
        RaftServerConfigKeys.Snapshot.setAutoTriggerThreshold(properties, tuning.snapshotThresholdEntries());
        RaftServerConfigKeys.Snapshot.setRetentionFileNum(properties, SNAPSHOTS_KEPT);
        // Purge up to the snapshot even if a follower is behind (it then gets the snapshot), so a
        // node that is down does not make the others' logs grow without bound.
        RaftServerConfigKeys.Log.setPurgeUptoSnapshotIndex(properties, true);
        RaftServerConfigKeys.Log.setPurgeGap(
                properties, (int) Math.min(PURGE_GAP_MAX_ENTRIES, tuning.snapshotThresholdEntries()));
        return withOverrides(properties);
    }

    /**
     * An expert's escape hatch, for experiments: JVM system properties named like Ratis keys
     * ({@code -Draft.grpc.server.worker-group.size=1}) are set last, over Courier's values.
     */
    private static RaftProperties withOverrides(RaftProperties properties) {
        for (String key : System.getProperties().stringPropertyNames()) {
            if (key.startsWith("raft.")) {
                properties.set(key, System.getProperty(key));
            }
        }
        return properties;
    }

    static RaftProperties client(RaftTuning tuning) {
        RaftProperties properties = new RaftProperties();
        RaftConfigKeys.Rpc.setType(properties, SupportedRpcType.GRPC);
        RaftClientConfigKeys.Async.setOutstandingRequestsMax(properties, 2 * tuning.maxEntriesInFlight() + 16);
        RaftClientConfigKeys.Rpc.setRequestTimeout(properties, ms(tuning.requestTimeoutMs()));
        return withOverrides(properties);
    }

    /** Retries (through elections, unreachable leaders) for about {@link RaftTuning#retryWindowMs()}. */
    static RetryPolicy retryPolicy(RaftTuning tuning) {
        int attempts = Math.max(1, tuning.retryWindowMs() / tuning.retryIntervalMs());
        return RetryPolicies.retryUpToMaximumCountWithFixedSleep(attempts, ms(tuning.retryIntervalMs()));
    }

    private static TimeDuration ms(long millis) {
        return TimeDuration.valueOf(millis, TimeUnit.MILLISECONDS);
    }
}
