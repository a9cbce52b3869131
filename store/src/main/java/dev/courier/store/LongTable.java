package dev.courier.store;

import java.util.Arrays;

/**
 * An open-addressing hash table of fixed-size records of {@code long}s in one flat array, with
 * linear probing and backward-shift deletion (no tombstones). Field 0 of a record is its key
 * plus one, so 0 marks an empty slot and a new array needs no filling. No boxing, no per-entry
 * objects: this is what keeps the index at a few dozen bytes per message.
 *
 * <p>Not thread-safe: the store mutates it on its writer thread under the state's write lock.
 */
abstract class LongTable {
    static final int MIN_CAPACITY = 1024;

    final int stride;
    long[] slots;
    int capacity;
    int size;

    LongTable(int stride) {
        this.stride = stride;
        this.capacity = MIN_CAPACITY;
        this.slots = new long[capacity * stride];
    }

    /** The home slot of the record stored at {@code base} in {@code table} of {@code tableCapacity}. */
    abstract int homeOf(long[] table, int base, int tableCapacity);

    final int size() {
        return size;
    }

    final boolean occupied(int slot) {
        return slots[slot * stride] != 0;
    }

    final long field(int slot, int field) {
        return slots[slot * stride + field];
    }

    final void setField(int slot, int field, long value) {
        slots[slot * stride + field] = value;
    }

    final int next(int slot) {
        return slot + 1 == capacity ? 0 : slot + 1;
    }

    /** Claims the first empty slot probing from {@code home}; the caller fills field 0 and the rest. */
    final int claim(long storedKey, int home) {
        int slot = home;
        while (slots[slot * stride] != 0) {
            slot = next(slot);
        }
        slots[slot * stride] = storedKey;
        size++;
        return slot;
    }

    /** Grows before an insert so the table stays at most 75% full. */
    final void ensureRoomForOne() {
        if ((long) (size + 1) * 4 > (long) capacity * 3) {
            resize(capacity + capacity / 2);
        }
    }

    /** Sizes the table for {@code expected} records at once (recovery), instead of growing step by step. */
    final void reserve(int expected) {
        long wanted = (long) expected * 3 / 2 + 1;
        if (wanted > capacity) {
            resize((int) Math.min(Integer.MAX_VALUE / stride, wanted));
        }
    }

    final void removeAt(int slot) {
        int hole = slot;
        int probe = next(hole);
        while (slots[probe * stride] != 0) {
            int home = homeOf(slots, probe * stride, capacity);
            // the record at probe may move back into the hole if the hole lies in [home, probe)
            if (cyclicDistance(home, probe) >= cyclicDistance(hole, probe)) {
                System.arraycopy(slots, probe * stride, slots, hole * stride, stride);
                hole = probe;
            }
            probe = next(probe);
        }
        Arrays.fill(slots, hole * stride, hole * stride + stride, 0L);
        size--;
        if (capacity > MIN_CAPACITY && (long) size * 8 < capacity) {
            resize(Math.max(MIN_CAPACITY, capacity / 2));
        }
    }

    private int cyclicDistance(int from, int to) {
        int distance = to - from;
        return distance < 0 ? distance + capacity : distance;
    }

    final void resize(int newCapacity) {
        long[] old = slots;
        int oldCapacity = capacity;
        slots = new long[newCapacity * stride];
        capacity = newCapacity;
        for (int i = 0; i < oldCapacity; i++) {
            int base = i * stride;
            if (old[base] != 0) {
                int slot = homeOf(old, base, newCapacity);
                while (slots[slot * stride] != 0) {
                    slot = next(slot);
                }
                System.arraycopy(old, base, slots, slot * stride, stride);
            }
        }
    }

    /** A copy of the occupied records, {@code stride} longs each, for a checkpoint. */
    final long[] copyRecords() {
        long[] out = new long[size * stride];
        int n = 0;
        for (int i = 0; i < capacity; i++) {
            int base = i * stride;
            if (slots[base] != 0) {
                System.arraycopy(slots, base, out, n, stride);
                n += stride;
            }
        }
        return out;
    }

    final long heapBytes() {
        return (long) slots.length * Long.BYTES;
    }
}
