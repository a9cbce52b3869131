package dev.courier.cluster.raft;

import java.util.List;
import java.util.Optional;

/**
 * A point-in-time view of this node's Raft groups, for management pages, {@code ctl cluster status}
 * and tests. Values are read from several Ratis threads without a common lock, so they are each
 * current but not mutually consistent. Immutable.
 *
 * @param nodeId this node
 * @param groups one entry per group, in {@link RaftNode#groups()} order
 */
public record ClusterStatus(String nodeId, List<GroupStatus> groups) {

    public ClusterStatus {
        groups = List.copyOf(groups);
    }

    /**
     * One group as this node sees it.
     *
     * @param group the group's name
     * @param role this replica's Raft role ({@code LEADER}, {@code FOLLOWER}, {@code CANDIDATE}, or
     *     {@code CLOSED} once the node closed)
     * @param leader the leader this replica knows of, if any
     * @param term the current term
     * @param logStartIndex the first index still in this replica's log (earlier ones were purged
     *     after a snapshot)
     * @param commitIndex the highest log index known committed
     * @param appliedIndex the highest log index applied to the state machine here
     * @param peersUp nodes believed up: on the leader itself and the followers that answered within
     *     an election timeout; on a follower itself and a leader heard from within one
     * @param proposedEntries entries this node proposed to the group
     * @param proposedCommands commands in those entries (commands per entry = batching factor)
     * @param appliedEntries batched entries applied on this replica since it started
     * @param appliedCommands commands applied on this replica since it started
     * @param queuedCommands commands submitted here and waiting for an entry
     */
    public record GroupStatus(
            String group,
            String role,
            Optional<String> leader,
            long term,
            long logStartIndex,
            long commitIndex,
            long appliedIndex,
            List<String> peersUp,
            long proposedEntries,
            long proposedCommands,
            long appliedEntries,
            long appliedCommands,
            int queuedCommands) {

        public GroupStatus {
            peersUp = List.copyOf(peersUp);
        }
    }

    /** The status of one group. */
    public GroupStatus group(String name) {
        return groups.stream()
                .filter(g -> g.group().equals(name))
                .findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no group " + name));
    }
}
