package dev.courier.cluster.meta;

import dev.courier.cluster.raft.RaftNode;
import dev.courier.cluster.raft.RaftNodeClosedException;
import dev.courier.cluster.raft.ReplicatedStateMachine;
import java.util.Objects;
import java.util.SortedMap;
import java.util.concurrent.CompletableFuture;

/**
 * The cluster's metadata as this node sees it: a key-value map replicated to every node through the
 * Raft group {@link RaftNode#META_GROUP}. Any node may {@link #submit} a {@link MetaBatch}; the
 * leader orders them, every node applies them in that order and tells its {@link
 * MetadataListener}. What the keys mean is the caller's business.
 *
 * <p>Life cycle: create it with the listener, give {@link #machine()} to {@link RaftNode#start} for
 * the metadata group (the log replay at start already reaches the listener), then {@link #attach}
 * the running node. Thread-safe; submit futures complete on the metadata group's apply thread
 * (continuations must not block).
 */
public final class ReplicatedMetadata implements AutoCloseable {
    private final MetadataMachine machine;
    private volatile RaftNode raft;

    public ReplicatedMetadata(MetadataListener listener) {
        this.machine = new MetadataMachine(Objects.requireNonNull(listener, "listener"));
    }

    /** The state machine to run in the metadata group on this node. */
    public ReplicatedStateMachine machine() {
        return machine;
    }

    /** Starts accepting submits through {@code node}. */
    public void attach(RaftNode node) {
        this.raft = node;
    }

    /**
     * Proposes a batch. Completes once its entry is committed on a majority and applied on this
     * node (so the listener here has already seen its changes), with the result: applied, or
     * rejected by a condition (then nothing changed). Fails with the Raft layer's exceptions when
     * no majority answers within the client's retry window (the batch may still commit later) or
     * with {@link RaftNodeClosedException} when this node closes first.
     */
    public CompletableFuture<MetaResult> submit(MetaBatch batch) {
        RaftNode node = raft;
        if (node == null) {
            return CompletableFuture.failedFuture(new IllegalStateException("the metadata group is not running"));
        }
        return node.submit(RaftNode.META_GROUP, batch.encode())
                .thenApply(MetaResult::decode)
                .thenCompose(result -> machine.awaitApplied(result.index()).thenApply(applied -> result));
    }

    /** The value of {@code key} as applied on this node, or null. */
    public byte[] get(String key) {
        return machine.get(key);
    }

    /** The entries whose keys start with {@code prefix}, as applied on this node (a sorted copy). */
    public SortedMap<String, byte[]> prefix(String prefix) {
        return machine.prefix(prefix);
    }

    /** The log index of the last metadata entry applied on this node (-1 before any). */
    public long appliedIndex() {
        return machine.appliedIndex();
    }

    /** Fails submits still waiting to be applied here; the Raft node is closed by its owner. */
    @Override
    public void close() {
        machine.failWaiters(new RaftNodeClosedException("the metadata group on this node is closed"));
    }
}
