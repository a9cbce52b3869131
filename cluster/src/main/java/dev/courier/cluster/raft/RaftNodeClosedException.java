package dev.courier.cluster.raft;

/**
 * A submit could not complete because this node's {@link RaftNode} was closed first. The command
 * may or may not have been committed (it may have been in flight).
 */
public final class RaftNodeClosedException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    public RaftNodeClosedException(String message) {
        super(message);
    }
}
