package dev.courier.cluster.raft;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;

/**
 * Which Raft groups the cluster runs, computed the same way on every node from the same config:
 * groups {@code g0, g1, …}, ids derived from the names, every node a voter in every group, and
 * group {@code i} preferring (Ratis peer priority) the {@code i}-th node in node-id order, so with
 * as many groups as nodes each node leads one. After them comes the metadata group {@link
 * #META_GROUP} (every node a voter, preferring the first node), which is not one of the groups
 * queue names hash over. Stateless.
 */
final class GroupLayout {
    private static final int PREFERRED_PRIORITY = 1;

    /** The name of the group that replicates the cluster's metadata. */
    static final String META_GROUP = "meta";

    private GroupLayout() {}

    /** One planned group: its name, its Ratis group with peers, and the node it prefers as leader. */
    record PlannedGroup(String name, RaftGroup group, String preferredNode) {}

    static List<PlannedGroup> plan(ClusterConfig config) {
        // Sorted, so nodes given the peers in different orders still agree on priorities.
        Map<String, InetSocketAddress> sorted = new TreeMap<>(config.peers());
        List<String> nodes = new ArrayList<>(sorted.keySet());
        List<PlannedGroup> groups = new ArrayList<>(config.groups() + 1);
        for (int i = 0; i < config.groups(); i++) {
            groups.add(planned(groupName(i), nodes.get(i % nodes.size()), sorted));
        }
        groups.add(planned(META_GROUP, nodes.get(0), sorted));
        return groups;
    }

    private static PlannedGroup planned(String name, String preferred, Map<String, InetSocketAddress> sorted) {
        List<RaftPeer> peers = new ArrayList<>(sorted.size());
        sorted.forEach((node, address) -> peers.add(RaftPeer.newBuilder()
                .setId(RaftPeerId.valueOf(node))
                .setAddress(address(address))
                .setPriority(node.equals(preferred) ? PREFERRED_PRIORITY : 0)
                .build()));
        return new PlannedGroup(name, RaftGroup.valueOf(groupId(name), peers), preferred);
    }

    static String groupName(int index) {
        return "g" + index;
    }

    static RaftGroupId groupId(String name) {
        return RaftGroupId.valueOf(
                UUID.nameUUIDFromBytes(("courier-raft-group/" + name).getBytes(StandardCharsets.UTF_8)));
    }

    static String address(InetSocketAddress address) {
        String host = address.getHostString();
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + address.getPort();
    }
}
