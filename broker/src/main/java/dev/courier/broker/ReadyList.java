package dev.courier.broker;

import java.util.ArrayDeque;
import java.util.Comparator;
import java.util.PriorityQueue;
import java.util.function.Consumer;

/**
 * A queue's ready messages: one sub-queue per priority level and a bitmap of the non-empty
 * levels, so add and poll are O(1) whatever the number of levels (the highest non-empty level is
 * one {@code numberOfLeadingZeros} away). Within a level new messages are FIFO and requeued ones
 * go back to their original position (a small min-heap merged by entry id).
 *
 * <p>Expiry costs no scan of the queue. Within a level, entries that expire by the queue's
 * x-message-ttl alone expire in the order they were added, so only the heads need checking; an
 * entry that may expire earlier than an entry added before it (a per-message expiration, or a
 * clock that went back) is also kept in a min-heap by expiry, where the sweep finds it wherever it
 * is and removes it in place. The heap deletes lazily: entries that left the ready list stay in it
 * until they reach its top or until they outnumber the live ones, when it is rebuilt.
 *
 * <p>Owned by its queue's actor; not thread-safe.
 */
final class ReadyList {
    /** A stale entry may stay in the expiry heap until the heap holds this many entries. */
    private static final int COMPACT_MIN = 64;

    /** A message in a queue, ready or delivered and waiting for its ack. */
    static final class Entry {
        final long id;
        /** The message, or null while it is paged out (its body only on disk; see storeId). */
        Message message;

        final int priority;
        /** An int, as a body's size in its buffer is: the entry stays small (8 bytes less than a long). */
        final int bodyBytes;
        /** Whether the message carries its own expiration (then the expiry heap tracks it). */
        final boolean perMessageTtl;
        /** True while the entry is in the ready list (not delivered, not gone). */
        boolean ready;

        final long expiresAtMs;
        boolean redelivered;
        int failedDeliveries;
        /** The message's id in the durable store, or 0 when this entry is not stored. */
        long storeId;

        /** May expire before entries added ahead of it: the expiry heap tracks it while ready. */
        private boolean outOfOrderExpiry;
        /** Whether the entry is in the expiry heap (perhaps stale there, no longer ready). */
        private boolean inExpiryHeap;
        /** Whether the entry was ever added (its expiry order is fixed at the first add). */
        private boolean placed;

        Entry(long id, Message message, int priority, long expiresAtMs) {
            this.id = id;
            this.message = message;
            this.priority = priority;
            this.bodyBytes = (int) message.bodySize();
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
        /** Ready entries in this level. */
        int live;
        /** Entries expired in place that are still in {@code fresh} or {@code returned}. */
        int removedInPlace;
        /** The latest expiry of any entry added to this level so far. */
        long latestExpiryMs;

        Entry peek() {
            if (removedInPlace > 0) {
                skipRemoved();
            }
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

        private void skipRemoved() {
            Entry entry;
            while ((entry = fresh.peekFirst()) != null && !entry.ready) {
                fresh.pollFirst();
                removedInPlace--;
            }
            while ((entry = returned.peek()) != null && !entry.ready) {
                returned.poll();
                removedInPlace--;
            }
        }

        /** Drops the entries expired in place; O(level), so only once they outnumber the live ones. */
        void compact() {
            fresh.removeIf(entry -> !entry.ready);
            returned.removeIf(entry -> !entry.ready);
            removedInPlace = 0;
        }

        void clear() {
            fresh.clear();
            returned.clear();
            removedInPlace = 0;
        }
    }

    private final Level[] levels;
    private final long[] nonEmpty = new long[4];
    /** Entries that may expire out of order, earliest expiry first; deleted lazily. */
    private final PriorityQueue<Entry> expiring = new PriorityQueue<>(
            Comparator.<Entry>comparingLong(e -> e.expiresAtMs).thenComparingLong(e -> e.id));
    /** Ready entries that {@link #expiring} must track. */
    private int liveOutOfOrder;

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

    /**
     * Drops a ready entry's message from memory (it stays on disk). A large message stays: its
     * body is already on disk (a blob), the message costs a few bytes, and the entry's reference is
     * what keeps the blob alive.
     */
    void pagedOut(Entry entry) {
        if (entry.message.isLarge()) {
            return;
        }
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

    /** Entries held by the expiry heap, stale ones included (for tests). */
    int expiryHeapSize() {
        return expiring.size();
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
        Level level = levels[entry.priority];
        if (!entry.placed) {
            entry.placed = true;
            if (entry.expiresAtMs > 0) {
                entry.outOfOrderExpiry = entry.perMessageTtl || entry.expiresAtMs < level.latestExpiryMs;
                level.latestExpiryMs = Math.max(level.latestExpiryMs, entry.expiresAtMs);
            }
        }
        if (entry.outOfOrderExpiry) {
            liveOutOfOrder++;
            if (!entry.inExpiryHeap) { // a requeued entry may still be there from before
                entry.inExpiryHeap = true;
                expiring.add(entry);
            }
        }
        entry.ready = true;
        if (entry.message != null) {
            resident++;
        }
        level.live++;
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
        Level level = levels[entry.priority];
        if (--level.live == 0) {
            level.clear();
            nonEmpty[entry.priority >>> 6] &= ~(1L << (entry.priority & 63));
        }
        if (entry.outOfOrderExpiry) {
            liveOutOfOrder--;
            if (expiring.size() > COMPACT_MIN && expiring.size() > 2 * liveOutOfOrder) {
                expiring.removeIf(stale -> {
                    if (stale.ready) {
                        return false;
                    }
                    stale.inExpiryHeap = false;
                    return true;
                });
            }
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

    /**
     * The earliest expiry of any ready entry, or 0 when none expires: the levels' heads and the
     * top of the expiry heap.
     */
    long earliestExpiry() {
        long earliest = 0;
        for (int word = 0; word < nonEmpty.length; word++) {
            for (long bits = nonEmpty[word]; bits != 0; bits &= bits - 1) {
                Entry head = levels[word * 64 + Long.numberOfTrailingZeros(bits)].peek();
                earliest = earlier(earliest, head.expiresAtMs);
            }
        }
        Entry top = liveTopOfExpiryHeap();
        return top == null ? earliest : earlier(earliest, top.expiresAtMs);
    }

    private Entry liveTopOfExpiryHeap() {
        Entry top;
        while ((top = expiring.peek()) != null && !top.ready) {
            expiring.poll();
            top.inExpiryHeap = false;
        }
        return top;
    }

    private static long earlier(long a, long b) {
        if (a == 0) {
            return b;
        }
        return b == 0 ? a : Math.min(a, b);
    }

    /**
     * Removes every entry whose expiry is at or before {@code nowMs}, wherever it is: expired
     * heads of each level, then the expired top of the expiry heap, taken out in place.
     */
    void removeExpired(long nowMs, Consumer<Entry> sink) {
        for (int word = 0; word < nonEmpty.length; word++) {
            for (long bits = nonEmpty[word]; bits != 0; bits &= bits - 1) {
                Level level = levels[word * 64 + Long.numberOfTrailingZeros(bits)];
                Entry head;
                while ((head = level.peek()) != null && head.expiresAtMs > 0 && head.expiresAtMs <= nowMs) {
                    level.poll();
                    removed(head);
                    sink.accept(head);
                }
            }
        }
        Entry top;
        while ((top = liveTopOfExpiryHeap()) != null && top.expiresAtMs <= nowMs) {
            expiring.poll();
            top.inExpiryHeap = false;
            removeInPlace(top);
            sink.accept(top);
        }
    }

    /** Takes a ready entry out of the list where it stands; its level skips it later. */
    private void removeInPlace(Entry entry) {
        Level level = levels[entry.priority];
        level.removedInPlace++;
        removed(entry); // clears the level when it was the last live entry
        if (level.removedInPlace > COMPACT_MIN && level.removedInPlace > level.live) {
            level.compact();
        }
    }
}
