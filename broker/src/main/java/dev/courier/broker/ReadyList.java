package dev.courier.broker;

import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.PriorityQueue;
import java.util.function.Consumer;

/**
 * A queue's ready messages: one sub-queue per priority level and a bitmap of the non-empty
 * levels, so add and poll are O(1) whatever the number of levels (the highest non-empty level is
 * one {@code numberOfLeadingZeros} away). Within a level new messages are FIFO and requeued ones
 * go back to their original position (a small min-heap merged by entry id).
 *
 * <p>Owned by its queue's actor; not thread-safe.
 */
final class ReadyList {
    /** A message in a queue, ready or delivered and waiting for its ack. */
    static final class Entry {
        final long id;
        /** The message, or null while it is paged out (its body only on disk; see storeId). */
        Message message;

        final int priority;
        /** An int, as a body's size in its buffer is: the entry stays at 56 bytes (8 less with a long). */
        final int bodyBytes;
        /** Whether the message carries its own expiration (then the expiry sweep scans the queue). */
        final boolean perMessageTtl;
        /** True while the entry is in the ready list (not delivered, not gone). */
        boolean ready;

        long expiresAtMs;
        boolean redelivered;
        int failedDeliveries;
        /** The message's id in the durable store, or 0 when this entry is not stored. */
        long storeId;

        Entry(long id, Message message, int priority, long expiresAtMs) {
            this.id = id;
            this.message = message;
            this.priority = priority;
            this.bodyBytes = message.body().readableBytes();
            this.expiresAtMs = expiresAtMs;
            this.perMessageTtl = message.hasExpiration();
        }

        /** An entry whose message was never loaded: it starts paged out (see storeId). */
        Entry(long id, int priority, int bodyBytes, boolean perMessageTtl, long expiresAtMs) {
            this.id = id;
            this.priority = priority;
            this.bodyBytes = bodyBytes;
            this.expiresAtMs = expiresAtMs;
            this.perMessageTtl = perMessageTtl;
        }
    }

    private static final class Level {
        final ArrayDeque<Entry> fresh = new ArrayDeque<>();
        final PriorityQueue<Entry> returned = new PriorityQueue<>((a, b) -> Long.compare(a.id, b.id));

        Entry peek() {
            Entry first = fresh.peekFirst();
            Entry back = returned.peek();
            return back != null && (first == null || back.id < first.id) ? back : first;
        }

        Entry poll() {
            Entry next = peek();
            if (next != null) {
                if (next == returned.peek()) {
                    returned.poll();
                } else {
                    fresh.pollFirst();
                }
            }
            return next;
        }

        boolean isEmpty() {
            return fresh.isEmpty() && returned.isEmpty();
        }
    }

    private final Level[] levels;
    private final long[] nonEmpty = new long[4];
    private int size;
    private long bytes;
    private int resident;

    /** @param maxPriority highest level (0 = a single level) */
    ReadyList(int maxPriority) {
        levels = new Level[maxPriority + 1];
        for (int i = 0; i < levels.length; i++) {
            levels[i] = new Level();
        }
    }

    int size() {
        return size;
    }

    /** Ready entries whose message is in memory. */
    int resident() {
        return resident;
    }

    /** A ready entry's message was dropped from memory (it stays on disk). */
    void pagedOut(Entry entry) {
        entry.message.release();
        entry.message = null;
        resident--;
    }

    /** A ready entry's message was read back into memory. */
    void pagedIn() {
        resident++;
    }

    long bytes() {
        return bytes;
    }

    /** The level a message of this priority goes to (priorities above the maximum are capped). */
    int levelOf(Integer priority) {
        return priority == null ? 0 : levelOf(priority.intValue());
    }

    int levelOf(int priority) {
        return priority <= 0 ? 0 : Math.min(priority, levels.length - 1);
    }

    void add(Entry entry) {
        levels[entry.priority].fresh.addLast(entry);
        added(entry);
    }

    /** Puts a delivered entry back at its original position. */
    void addReturned(Entry entry) {
        levels[entry.priority].returned.add(entry);
        added(entry);
    }

    private void added(Entry entry) {
        entry.ready = true;
        if (entry.message != null) {
            resident++;
        }
        nonEmpty[entry.priority >>> 6] |= 1L << (entry.priority & 63);
        size++;
        bytes += entry.bodyBytes;
    }

    /** The next entry to deliver: highest priority first, then lowest id. */
    Entry peek() {
        int level = highestNonEmpty();
        return level < 0 ? null : levels[level].peek();
    }

    Entry poll() {
        int level = highestNonEmpty();
        if (level < 0) {
            return null;
        }
        Entry entry = levels[level].poll();
        removed(entry);
        return entry;
    }

    private void removed(Entry entry) {
        entry.ready = false;
        if (entry.message != null) {
            resident--;
        }
        size--;
        bytes -= entry.bodyBytes;
        if (levels[entry.priority].isEmpty()) {
            nonEmpty[entry.priority >>> 6] &= ~(1L << (entry.priority & 63));
        }
    }

    private int highestNonEmpty() {
        for (int word = nonEmpty.length - 1; word >= 0; word--) {
            if (nonEmpty[word] != 0) {
                return word * 64 + 63 - Long.numberOfLeadingZeros(nonEmpty[word]);
            }
        }
        return -1;
    }

    /** The earliest expiry of any entry, or 0 when none expires. A full scan: call it rarely. */
    long earliestExpiry() {
        long earliest = 0;
        for (Level level : levels) {
            for (Entry entry : level.fresh) {
                earliest = earlier(earliest, entry.expiresAtMs);
            }
            for (Entry entry : level.returned) {
                earliest = earlier(earliest, entry.expiresAtMs);
            }
        }
        return earliest;
    }

    private static long earlier(long a, long b) {
        if (a == 0) {
            return b;
        }
        return b == 0 ? a : Math.min(a, b);
    }

    /** Removes every entry whose expiry is at or before {@code nowMs}, wherever it is. */
    void removeExpired(long nowMs, Consumer<Entry> sink) {
        for (Level level : levels) {
            removeExpired(level.fresh.iterator(), nowMs, sink);
            removeExpired(level.returned.iterator(), nowMs, sink);
        }
    }

    private void removeExpired(Iterator<Entry> entries, long nowMs, Consumer<Entry> sink) {
        while (entries.hasNext()) {
            Entry entry = entries.next();
            if (entry.expiresAtMs > 0 && entry.expiresAtMs <= nowMs) {
                entries.remove();
                removed(entry);
                sink.accept(entry);
            }
        }
    }
}
