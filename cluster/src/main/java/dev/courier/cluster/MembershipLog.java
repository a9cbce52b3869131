package dev.courier.cluster;

import dev.courier.cluster.raft.ClusterStatus;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Logs the other cluster nodes joining and leaving as this node sees them through its Raft
 * groups: INFO once when a node is first seen or seen again after it was down, WARN once when it
 * stops answering. Only changes are logged, on every node that sees them.
 *
 * <p>A node is up when any of this node's groups heard from it recently ({@link
 * ClusterStatus.GroupStatus#peersUp()}). Absence needs more: a group's leader hears from every
 * follower, but a follower knows only its leader, so a node is down only when it was missing from
 * every group this node leads for {@link #MISSED_TO_DOWN} observations in a row. A node that leads
 * no group says nothing about the others until it does.
 *
 * <p>Not thread-safe: called from one thread (the quorum queues' ticker).
 */
final class MembershipLog {
    private static final Logger LOG = LoggerFactory.getLogger(MembershipLog.class);

    /** Consecutive observations without a node (one per tick) before it counts as down. */
    static final int MISSED_TO_DOWN = 2;

    /**
     * A node's change of state as this node saw it; {@code again}: up after having been up
     * before, or down after having been up (rather than never heard from).
     */
    record Change(String node, boolean up, boolean again) {}

    private enum State {
        UNKNOWN,
        UP,
        DOWN
    }

    private final String self;
    private final List<String> others;
    private final Map<String, State> states = new HashMap<>();
    private final Map<String, Integer> missed = new HashMap<>();
    private final Set<String> seenBefore = new HashSet<>();

    MembershipLog(String self, List<String> members) {
        this.self = self;
        this.others = members.stream().filter(m -> !m.equals(self)).toList();
        others.forEach(node -> states.put(node, State.UNKNOWN));
    }

    /** Takes one look at this node's groups; logs and returns what changed since the last one. */
    List<Change> observe(ClusterStatus status) {
        boolean leadsAGroup = false;
        Set<String> seen = new HashSet<>();
        for (ClusterStatus.GroupStatus group : status.groups()) {
            seen.addAll(group.peersUp());
            leadsAGroup |= group.role().equals("LEADER");
        }
        List<Change> changes = new ArrayList<>();
        for (String node : others) {
            State state = states.get(node);
            if (seen.contains(node)) {
                missed.remove(node);
                if (state != State.UP) {
                    states.put(node, State.UP);
                    Change change = new Change(node, true, !seenBefore.add(node));
                    changes.add(change);
                    LOG.info("cluster node {} {} (seen from {})", node, change.again() ? "is back" : "joined", self);
                }
            } else if (leadsAGroup) {
                int count = missed.merge(node, 1, Integer::sum);
                if (count >= MISSED_TO_DOWN && state != State.DOWN) {
                    states.put(node, State.DOWN);
                    changes.add(new Change(node, false, state == State.UP));
                    LOG.warn(
                            "cluster node {} {} ({} leads a Raft group and has not heard from it)",
                            node,
                            state == State.UP ? "left" : "is not answering",
                            self);
                }
            }
        }
        return changes;
    }
}
