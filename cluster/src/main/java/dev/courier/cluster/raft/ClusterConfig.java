package dev.courier.cluster.raft;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Cluster membership as given by {@code --node-id} and {@code --cluster}: this node's id, every
 * node's Raft address (this one included), where this node keeps its Raft data, and how many Raft
 * groups the cluster runs. Every node must be given the same peers and group count. Immutable.
 *
 * @param nodeId this node's id; a key of {@code peers}
 * @param peers every node's id and Raft (gRPC) address, this node included
 * @param dataDir this node's data directory; Raft logs and snapshots go to {@code dataDir/raft/}
 * @param groups number of Raft groups, each replicated on every node; {@code 0} means one per node
 * @param tuning Ratis and batching settings
 */
public record ClusterConfig(
        String nodeId, Map<String, InetSocketAddress> peers, Path dataDir, int groups, RaftTuning tuning) {

    private static final Pattern NODE_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");

    public ClusterConfig {
        Objects.requireNonNull(nodeId, "nodeId");
        Objects.requireNonNull(peers, "peers");
        Objects.requireNonNull(dataDir, "dataDir");
        Objects.requireNonNull(tuning, "tuning");
        peers.keySet().forEach(ClusterConfig::checkNodeId);
        if (!peers.containsKey(nodeId)) {
            throw new IllegalArgumentException(
                    "node id '" + nodeId + "' is not one of the cluster's nodes " + peers.keySet());
        }
        if (groups < 0) {
            throw new IllegalArgumentException("groups must be >= 0 (0 = one per node), got " + groups);
        }
        peers = Collections.unmodifiableMap(new LinkedHashMap<>(peers));
        groups = groups == 0 ? peers.size() : groups;
    }

    /** One group per node, {@link RaftTuning#defaults()}. */
    public static ClusterConfig of(String nodeId, Map<String, InetSocketAddress> peers, Path dataDir) {
        return new ClusterConfig(nodeId, peers, dataDir, 0, RaftTuning.defaults());
    }

    public ClusterConfig withGroups(int groupCount) {
        return new ClusterConfig(nodeId, peers, dataDir, groupCount, tuning);
    }

    public ClusterConfig withTuning(RaftTuning newTuning) {
        return new ClusterConfig(nodeId, peers, dataDir, groups, newTuning);
    }

    /**
     * Parses {@code "n1=127.0.0.1:7001,n2=127.0.0.1:7002,..."} into an ordered map (IPv6 hosts in
     * brackets: {@code n1=[::1]:7001}). Addresses are left unresolved.
     *
     * @throws IllegalArgumentException naming the faulty part when the spec is malformed
     */
    public static Map<String, InetSocketAddress> parsePeers(String spec) {
        if (spec == null || spec.isBlank()) {
            throw new IllegalArgumentException("cluster spec is empty; expected id=host:port[,id=host:port...]");
        }
        Map<String, InetSocketAddress> peers = new LinkedHashMap<>();
        for (String part : spec.split(",", -1)) {
            String item = part.trim();
            if (item.isEmpty()) {
                throw new IllegalArgumentException("cluster spec '" + spec + "' has an empty entry (stray comma?)");
            }
            int eq = item.indexOf('=');
            if (eq < 0) {
                throw new IllegalArgumentException("cluster entry '" + item + "' is not id=host:port");
            }
            String id = item.substring(0, eq).trim();
            checkNodeId(id);
            InetSocketAddress address = parseAddress(id, item.substring(eq + 1).trim());
            if (peers.put(id, address) != null) {
                throw new IllegalArgumentException("node id '" + id + "' appears twice in the cluster spec");
            }
        }
        return Collections.unmodifiableMap(peers);
    }

    private static InetSocketAddress parseAddress(String id, String hostPort) {
        int colon = hostPort.lastIndexOf(':');
        if (colon <= 0 || colon == hostPort.length() - 1) {
            throw new IllegalArgumentException("address '" + hostPort + "' of node '" + id + "' is not host:port");
        }
        String host = hostPort.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        } else if (host.indexOf(':') >= 0) {
            throw new IllegalArgumentException(
                    "address '" + hostPort + "' of node '" + id + "': put an IPv6 host in brackets, e.g. [::1]:7001");
        }
        if (host.isEmpty()) {
            throw new IllegalArgumentException("address '" + hostPort + "' of node '" + id + "' has no host");
        }
        String portText = hostPort.substring(colon + 1);
        int port;
        try {
            port = Integer.parseInt(portText);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("port '" + portText + "' of node '" + id + "' is not a number", e);
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port " + port + " of node '" + id + "' is not in 1..65535");
        }
        return InetSocketAddress.createUnresolved(host, port);
    }

    private static void checkNodeId(String id) {
        if (!NODE_ID.matcher(id).matches()) {
            throw new IllegalArgumentException("node id '" + id
                    + "' must be 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit");
        }
    }
}
