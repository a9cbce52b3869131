package dev.courier.store;

/**
 * One durable queue's entries as found at open: message ids in queue order with their
 * redelivered flags, the attributes given at publish and the stored size, so that the broker can
 * rebuild a queue without reading the messages it will not keep in memory. Immutable and compact (primitive arrays), meant to be read once by the
 * broker while it rebuilds the queue and then dropped.
 */
public final class RecoveredQueue {
    private final StoreQueue queue;
    private final long[] messageIds;
    private final long[] redeliveredBits;
    private final long[] attributes;
    private final int[] storedBytes;

    RecoveredQueue(StoreQueue queue, long[] messageIds, long[] redeliveredBits, long[] attributes, int[] storedBytes) {
        this.queue = queue;
        this.messageIds = messageIds;
        this.redeliveredBits = redeliveredBits;
        this.attributes = attributes;
        this.storedBytes = storedBytes;
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

    /** The attributes given at publish to the message at {@code index} (0 if none were). */
    public long attributes(int index) {
        return attributes[index];
    }

    /** The header plus body bytes stored for the message at {@code index}. */
    public int storedBytes(int index) {
        return storedBytes[index];
    }
}
