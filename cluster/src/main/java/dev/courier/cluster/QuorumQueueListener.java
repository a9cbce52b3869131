package dev.courier.cluster;

import dev.courier.cluster.fifo.Effect;
import dev.courier.cluster.fifo.QueueView;
import java.util.Map;

/**
 * What the broker on this node hears from the replicated queues. Called on a group's apply
 * thread, in log order; implementations must not block (the group stops applying meanwhile).
 */
public interface QuorumQueueListener {
    /** A queue was declared (on any node) with this broker-encoded definition. */
    void declared(String queue, byte[] definition);

    /**
     * A binding to a queue was made (on any node) with this broker-encoded description; also
     * replayed after {@link #declared} and {@link #restored}. Idempotent on the broker's side.
     */
    void bound(String queue, byte[] binding);

    /** A binding to a queue was removed (on any node). */
    void unbound(String queue, byte[] binding);

    /** A queue was deleted (on any node); its consumers have had {@link #consumerCancelled}. */
    void deleted(String queue);

    /**
     * The group's state was replaced from a snapshot: these are now all its queues (by name, with
     * their definitions); queues of that group not among them are gone.
     */
    void restored(String group, Map<String, byte[]> definitions);

    /** Counts changed (after each command that touched the queue). */
    void counts(QueueView view);

    /** A message for a consumer on this node. */
    void deliver(Effect.Deliver delivery);

    /** A message to dead-letter; only the group's leader hears these (at-most-once, as RabbitMQ). */
    void deadLetter(Effect.DeadLettered deadLettered);

    /**
     * The group released every consumer of {@code node} (it was down, or restarted): when that is
     * this node, its consumers of that group's queues no longer get messages and must be told.
     */
    void nodeDown(String group, String node);

    /** A consumer on this node is gone because its queue was deleted. */
    void consumerCancelled(Effect.ConsumerCancelled cancelled);
}
