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
 */
public record ClusterSettings(
        String nodeId, String nodes, int groups, int electionTimeoutMinMs, int electionTimeoutMaxMs) {

    /** The config keys, with descriptions. */
    static final Map<String, String> KEYS = Map.of(
            "cluster.node_id", "this node's id in the cluster (--node-id; default empty = not clustered)",
            "cluster.nodes", "every node as id=host:raftport, comma separated (--cluster; default empty)",
            "cluster.groups", "Raft groups holding replicated queues (default 0 = one per node)",
            "cluster.election_timeout_min_ms", "Raft election timeout lower bound in ms (default 500)",
            "cluster.election_timeout_max_ms", "Raft election timeout upper bound in ms (default 1000)");

    static final ClusterSettings NONE = new ClusterSettings("", "", 0, 500, 1000);

    public ClusterSettings {
        if (groups < 0) {
            throw new IllegalArgumentException("cluster.groups must be 0 or more, got " + groups);
        }
        if (electionTimeoutMinMs < 10 || electionTimeoutMaxMs <= electionTimeoutMinMs) {
            throw new IllegalArgumentException("cluster election timeouts need 10 <= min < max, got "
                    + electionTimeoutMinMs + ".." + electionTimeoutMaxMs);
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
                .withTuning(RaftTuning.defaults().withElectionTimeoutsMs(electionTimeoutMinMs, electionTimeoutMaxMs));
    }

    void putInto(Map<String, String> values) {
        values.put("cluster.node_id", nodeId);
        values.put("cluster.nodes", nodes);
        values.put("cluster.groups", Integer.toString(groups));
        values.put("cluster.election_timeout_min_ms", Integer.toString(electionTimeoutMinMs));
        values.put("cluster.election_timeout_max_ms", Integer.toString(electionTimeoutMaxMs));
    }

    static ClusterSettings from(Map<String, String> values) {
        return new ClusterSettings(
                values.get("cluster.node_id"),
                values.get("cluster.nodes"),
                Integer.parseInt(values.get("cluster.groups")),
                Integer.parseInt(values.get("cluster.election_timeout_min_ms")),
                Integer.parseInt(values.get("cluster.election_timeout_max_ms")));
    }
}
