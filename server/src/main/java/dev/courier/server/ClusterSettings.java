package dev.courier.server;

import dev.courier.cluster.raft.ClusterConfig;
import dev.courier.cluster.raft.RaftTuning;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.Map;

/**
 * Cluster membership from the {@code cluster.*} config keys (the {@code --node-id} and {@code
 * --cluster} flags set them): which node this is and where every node's Raft port is.
 *
 * @param nodeId this node's id; empty for a single node that is not in a cluster
 * @param nodes every node's {@code id=host:port}, comma separated, this one included; empty when
 *     not clustered
 * @param groups Raft groups that hold the replicated queues; 0 = one per node
 * @param electionTimeoutMinMs Raft election timeout, lower bound: the failover time trades against
 *     needless elections on a starved CPU
 * @param electionTimeoutMaxMs its upper bound
 * @param snapshotEntries a node snapshots each group's state after this many applied entries and
 *     purges the log before it (a node that was down longer then catches up from a snapshot)
 * @param logSegmentBytes Raft log segment size; only whole closed segments are purged
 */
public record ClusterSettings(
        String nodeId,
        String nodes,
        int groups,
        int electionTimeoutMinMs,
        int electionTimeoutMaxMs,
        long snapshotEntries,
        long logSegmentBytes) {

    /** The config keys, with descriptions. */
    static final Map<String, String> KEYS = Map.of(
            "cluster.node_id", "this node's id in the cluster (--node-id; default empty = not clustered)",
            "cluster.nodes", "every node as id=host:raftport, comma separated (--cluster; default empty)",
            "cluster.groups", "Raft groups holding replicated queues (default 0 = one per node)",
            "cluster.election_timeout_min_ms", "Raft election timeout lower bound in ms (default 500)",
            "cluster.election_timeout_max_ms", "Raft election timeout upper bound in ms (default 1000)",
            "cluster.snapshot_entries", "Raft snapshot after this many applied entries per group (default 4096)",
            "cluster.log_segment_bytes", "Raft log segment size in bytes, at least 16384 (default 16777216)");

    static final ClusterSettings NONE = new ClusterSettings(
            "",
            "",
            0,
            500,
            1000,
            RaftTuning.defaults().snapshotThresholdEntries(),
            RaftTuning.defaults().logSegmentSizeBytes());

    public ClusterSettings {
        if (groups < 0) {
            throw new IllegalArgumentException("cluster.groups must be 0 or more, got " + groups);
        }
        if (electionTimeoutMinMs < 10 || electionTimeoutMaxMs <= electionTimeoutMinMs) {
            throw new IllegalArgumentException("cluster election timeouts need 10 <= min < max, got "
                    + electionTimeoutMinMs + ".." + electionTimeoutMaxMs);
        }
        if (snapshotEntries < 1 || logSegmentBytes < 16 * 1024) {
            throw new IllegalArgumentException(
                    "cluster.snapshot_entries must be at least 1 and cluster.log_segment_bytes"
                            + " at least 16384, got " + snapshotEntries + " and " + logSegmentBytes);
        }
    }

    /** Whether this node is part of a cluster. */
    public boolean enabled() {
        return !nodeId.isEmpty() || !nodes.isEmpty();
    }

    /**
     * This node's cluster configuration, checked: both keys set, every node well formed, this
     * node among them. Called when the server starts, since keys are set one at a time.
     *
     * @throws IllegalArgumentException with a message for the operator
     */
    public ClusterConfig toClusterConfig(Path dataDir) {
        if (nodeId.isEmpty() || nodes.isEmpty()) {
            throw new IllegalArgumentException("a cluster needs both --node-id and --cluster id=host:port,...");
        }
        Map<String, InetSocketAddress> peers = ClusterConfig.parsePeers(nodes);
        return ClusterConfig.of(nodeId, peers, dataDir)
                .withGroups(groups)
                .withTuning(RaftTuning.defaults()
                        .withElectionTimeoutsMs(electionTimeoutMinMs, electionTimeoutMaxMs)
                        .withSnapshots(snapshotEntries, logSegmentBytes));
    }

    void putInto(Map<String, String> values) {
        values.put("cluster.node_id", nodeId);
        values.put("cluster.nodes", nodes);
        values.put("cluster.groups", Integer.toString(groups));
        values.put("cluster.election_timeout_min_ms", Integer.toString(electionTimeoutMinMs));
        values.put("cluster.election_timeout_max_ms", Integer.toString(electionTimeoutMaxMs));
        values.put("cluster.snapshot_entries", Long.toString(snapshotEntries));
        values.put("cluster.log_segment_bytes", Long.toString(logSegmentBytes));
    }

    static ClusterSettings from(Map<String, String> values) {
        return new ClusterSettings(
                values.get("cluster.node_id"),
                values.get("cluster.nodes"),
                Integer.parseInt(values.get("cluster.groups")),
                Integer.parseInt(values.get("cluster.election_timeout_min_ms")),
                Integer.parseInt(values.get("cluster.election_timeout_max_ms")),
                Long.parseLong(values.get("cluster.snapshot_entries")),
                Long.parseLong(values.get("cluster.log_segment_bytes")));
    }
}
