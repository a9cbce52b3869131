package dev.courier.cluster.raft;

/**
 * A submitted command was committed, but the group's {@link ReplicatedStateMachine#apply} threw on
 * it; the message is the exception's, as recorded by the replica that answered.
 */
public final class CommandFailedException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public CommandFailedException(String message) {
        super(message);
    }
}
