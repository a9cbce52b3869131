package dev.courier.cluster.meta;

import dev.courier.cluster.raft.RaftNode;
import dev.courier.cluster.raft.RaftNodeClosedException;
import dev.courier.cluster.raft.ReplicatedStateMachine;
import java.util.Objects;
import java.util.SortedMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

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

    /** How long {@link #await} waits for a change to be committed and applied here. */
    public static final long COMMIT_TIMEOUT_MS = 30_000;

    /**
     * Blocks until a submitted change is applied here, for threads that may wait (the management
     * API's, start-up), never an event loop. A failure's {@link RuntimeException} cause is thrown as
     * it is (e.g. a refusal decided while proposing); anything else, and a timeout, as {@link
     * IllegalStateException}.
     */
    public static <T> T await(CompletableFuture<T> applied) {
        try {
            return applied.get(COMMIT_TIMEOUT_MS, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException runtime) {
                throw runtime;
            }
            throw new IllegalStateException("the cluster did not commit the change: " + e.getCause(), e.getCause());
        } catch (TimeoutException e) {
            throw new IllegalStateException(
                    "the cluster did not commit the change within " + COMMIT_TIMEOUT_MS + " ms (no majority?)");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the cluster");
        }
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
