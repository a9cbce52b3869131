package dev.courier.server.amqp;

import dev.courier.broker.MessageQueue;
import java.util.function.Consumer;

/**
 * The deliveries of one channel that wait for an ack, by delivery tag.
 *
 * <p>Delivery tags are dense (1, 2, 3 … per channel), so the window is a ring indexed by
 * {@code tag - firstTag}: add, single ack and multiple ack are O(1) per entry and allocate
 * nothing once the ring has grown to the channel's working set. Tags of auto-ack deliveries are
 * skipped. Owned by the connection's event loop; not thread-safe.
 */
final class UnackedWindow {
    /**
     * One delivery waiting for its ack; {@code consumer} is null for basic.get, {@code storeId}
     * is {@link dev.courier.broker.Delivery#storeId()}.
     */
    record Entry(MessageQueue queue, long entryId, ChannelConsumer consumer, long storeId) {}

    private Entry[] ring = new Entry[64];
    private long firstTag = 1;
    private long nextTag = 1;
    private int size;

    /** Assigns the next delivery tag to an entry that waits for an ack. */
    long add(Entry entry) {
        long tag = nextTag();
        ring[index(tag)] = entry;
        size++;
        return tag;
    }

    /** Assigns the next delivery tag to a delivery that needs no ack. */
    long skip() {
        long tag = nextTag();
        if (size == 0) {
            firstTag = nextTag;
        }
        return tag;
    }

    /** Number of deliveries waiting for an ack. */
    int size() {
        return size;
    }

    /** True when {@code tag} is waiting for an ack. */
    boolean contains(long tag) {
        return tag >= firstTag && tag < nextTag && ring[index(tag)] != null;
    }

    /** Removes one entry; returns null when the tag is unknown or already settled. */
    Entry remove(long tag) {
        if (!contains(tag)) {
            return null;
        }
        int i = index(tag);
        Entry entry = ring[i];
        ring[i] = null;
        size--;
        advance();
        return entry;
    }

    /** Removes every entry with a tag up to and including {@code tag} (0 = all), in tag order. */
    void removeUpTo(long tag, Consumer<Entry> action) {
        long last = tag == 0 ? nextTag - 1 : Math.min(tag, nextTag - 1);
        for (long t = firstTag; t <= last && size > 0; t++) {
            int i = index(t);
            Entry entry = ring[i];
            if (entry != null) {
                ring[i] = null;
                size--;
                action.accept(entry);
            }
        }
        advance();
    }

    /** Removes every entry, in tag order. */
    void removeAll(Consumer<Entry> action) {
        removeUpTo(0, action);
    }

    private long nextTag() {
        if (nextTag - firstTag >= ring.length) {
            grow();
        }
        return nextTag++;
    }

    private void advance() {
        while (firstTag < nextTag && ring[index(firstTag)] == null) {
            firstTag++;
        }
    }

    private int index(long tag) {
        return (int) (tag & (ring.length - 1));
    }

    private void grow() {
        Entry[] grown = new Entry[ring.length * 2];
        for (long t = firstTag; t < nextTag; t++) {
            grown[(int) (t & (grown.length - 1))] = ring[index(t)];
        }
        ring = grown;
    }
}
