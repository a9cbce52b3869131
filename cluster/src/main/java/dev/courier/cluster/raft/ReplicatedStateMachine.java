package dev.courier.cluster.raft;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * What a Raft group replicates: a deterministic state machine fed with opaque commands.
 *
 * <p>Threading: all calls to one machine are serialized (never two at once) and each happens-before
 * the next, so an implementation needs no locks. {@link #apply}, {@link #writeSnapshot} and
 * {@link #readSnapshot} run on the group's Ratis apply thread, in log order, on every replica;
 * {@link #leadershipChanged} may come from another Ratis thread but never overlaps them. No call
 * may block for long: the group's log stops applying meanwhile.
 */
public interface ReplicatedStateMachine {
    /**
     * Applies one command of the entry at {@code index} whose time is {@code timeMs} (stamped by the
     * proposing node when it formed the entry; the same on every replica and never lower than the
     * previous entry's). Returns the reply sent back to the proposer (may be empty, never null).
     * {@code leader} says whether this replica is the group's leader at apply time (side effects such
     * as deliveries to other nodes or dead-lettering run only there). Commands of one entry share
     * its index.
     *
     * <p>Must be deterministic. If it throws, the exception is logged, that command's submit fails
     * with {@link CommandFailedException} on the proposer, and the group goes on with the next
     * command (on every replica alike).
     */
    byte[] apply(long index, long timeMs, byte[] command, boolean leader);

    /** Writes the whole state; called after the command it reflects was applied. */
    void writeSnapshot(OutputStream out) throws IOException;

    /** Replaces all state with a snapshot written by {@link #writeSnapshot} (on any replica). */
    void readSnapshot(InputStream in) throws IOException;

    /**
     * Leadership of this replica changed (e.g. to start/stop timers). {@code true} comes once this
     * replica, as the new leader, has applied every entry of earlier terms, so the state is complete
     * when it runs; entries applied before it pass {@code leader = false} to {@link #apply}.
     */
    default void leadershipChanged(boolean leader) {}
}
