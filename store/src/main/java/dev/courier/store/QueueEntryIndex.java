package dev.courier.store;

/**
 * Queue entries of messages held by more than one queue (fanout), beyond the first queue kept
 * in {@link MessageIndex}: (message id, queue id) to sequence number and redelivered flag, 24
 * bytes per slot. Writer thread only.
 */
final class QueueEntryIndex extends LongTable {
    static final int KEY = 0;
    static final int QUEUE = 1;
    /** seq:63 | redelivered:1. */
    static final int ENTRY = 2;

    static final int STRIDE = 3;

    QueueEntryIndex() {
        super(STRIDE);
    }

    @Override
    int homeOf(long[] table, int base, int tableCapacity) {
        return home(table[base] - 1, (int) table[base + QUEUE], tableCapacity);
    }

    private static int home(long messageId, int queueId, int tableCapacity) {
        long h = messageId * 0x9E3779B97F4A7C15L + queueId;
        h ^= h >>> 29;
        h *= 0xBF58476D1CE4E5B9L;
        h ^= h >>> 32;
        return (int) ((h & Long.MAX_VALUE) % tableCapacity);
    }

    int find(long messageId, int queueId) {
        long key = messageId + 1;
        int slot = home(messageId, queueId, capacity);
        while (true) {
            long stored = slots[slot * STRIDE];
            if (stored == 0) {
                return -1;
            }
            if (stored == key && slots[slot * STRIDE + QUEUE] == queueId) {
                return slot;
            }
            slot = next(slot);
        }
    }

    void insert(long messageId, int queueId, long seq, boolean redelivered) {
        ensureRoomForOne();
        int slot = claim(messageId + 1, home(messageId, queueId, capacity));
        setField(slot, QUEUE, queueId);
        setField(slot, ENTRY, (seq << 1) | (redelivered ? 1 : 0));
    }

    long messageId(int slot) {
        return field(slot, KEY) - 1;
    }

    int queue(int slot) {
        return (int) field(slot, QUEUE);
    }

    void setRedelivered(int slot) {
        setField(slot, ENTRY, field(slot, ENTRY) | 1);
    }
}
