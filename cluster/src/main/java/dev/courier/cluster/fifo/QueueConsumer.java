package dev.courier.cluster.fifo;

/**
 * A consumer attached to one queue (basic.consume), or a get-only pseudo consumer holding the
 * unacknowledged messages of basic.get callers. Owned by its {@link QuorumQueue}.
 */
final class QueueConsumer {
    final String id;
    String node;
    int prefetch;
    boolean autoAck;
    int priority;
    /** Whether this only holds basic.get messages: never chosen for delivery, no prefetch. */
    boolean getOnly;
    /** Whether it asked for exclusive use: no other consumer may check out while it is there. */
    boolean exclusive;
    /** When it last got a delivery (a per-queue sequence): the least recent goes next (round-robin). */
    long lastServed;

    final MessageList unacked = new MessageList();

    QueueConsumer(String id, String node, int prefetch, boolean autoAck, int priority, boolean getOnly) {
        this.id = id;
        this.node = node;
        this.prefetch = prefetch;
        this.autoAck = autoAck;
        this.priority = priority;
        this.getOnly = getOnly;
    }

    boolean hasCredit() {
        return !getOnly && (prefetch == 0 || unacked.size() < prefetch);
    }
}
