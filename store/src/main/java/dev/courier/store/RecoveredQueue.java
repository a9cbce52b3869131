package dev.courier.store;

/**
 * One durable queue's entries as found at open: message ids in queue order with their
 * redelivered flags. Immutable and compact (primitive arrays), meant to be read once by the
 * broker while it rebuilds the queue and then dropped.
 */
public final class RecoveredQueue {
    private final StoreQueue queue;
    private final long[] messageIds;
    private final long[] redeliveredBits;

    RecoveredQueue(StoreQueue queue, long[] messageIds, long[] redeliveredBits) {
        this.queue = queue;
        this.messageIds = messageIds;
        this.redeliveredBits = redeliveredBits;
    }

    /** The handle to keep using for this queue. */
    public StoreQueue queue() {
        return queue;
    }

    public String name() {
        return queue.name();
    }

    public int messageCount() {
        return messageIds.length;
    }

    /** The id of the message at {@code index} (0 = head of the queue). */
    public long messageId(int index) {
        return messageIds[index];
    }

    /** Whether the message at {@code index} had been delivered before (AMQP's redelivered). */
    public boolean redelivered(int index) {
        return (redeliveredBits[index >>> 6] & (1L << index)) != 0;
    }
}
