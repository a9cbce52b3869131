package dev.courier.store;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * The in-memory image of the durable state: live messages and their queue entries, queues,
 * metadata and segments with their live-message counts. The same {@code apply…} methods are used
 * by recovery (replaying records) and by the writer thread (after a batch is durable), so the
 * state after a restart is the state before it.
 *
 * <p>Owned by one thread at a time: recovery, then the writer, which mutates it under {@link
 * #lock}'s write lock; other threads (readers, the compactor) only look things up under the read
 * lock.
 */
final class StoreState {
    final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    final MessageIndex messages = new MessageIndex();
    final QueueEntryIndex extraEntries = new QueueEntryIndex();
    final Map<Integer, String> queues = new HashMap<>();
    final Map<String, byte[]> metadata = new HashMap<>();
    final TreeMap<Long, Segment> segments = new TreeMap<>();

    long nextSeq;
    long highestMessageId = -1;
    long danglingReferences;
    /** Set when a segment's live count reached zero: a checkpoint would let it be deleted. */
    boolean segmentDied;
    /**
     * The segment being appended to; its live count reaching 0 is not a death (nothing can be
     * deleted until it is sealed, which {@code LogWriter.rollSegment} reports). Without this, a
     * consumer that keeps up triggered a checkpoint after nearly every write batch.
     */
    long activeSegmentId = -1;

    private long queueEntries;

    long queueEntries() {
        return queueEntries;
    }

    void applyQueueCreate(int queueId, String name) {
        queues.put(queueId, name);
    }

    void applyQueueDelete(int queueId) {
        applyQueuePurge(queueId);
        queues.remove(queueId);
    }

    /** Removes every entry of the queue (writer: O(index size), but purges are rare). */
    void applyQueuePurge(int queueId) {
        long[] ids = new long[16];
        int count = 0;
        for (int slot = 0; slot < messages.capacity; slot++) {
            if (messages.occupied(slot) && messages.firstQueue(slot) == queueId) {
                ids = append(ids, count++, messages.messageId(slot));
            }
        }
        for (int slot = 0; slot < extraEntries.capacity; slot++) {
            if (extraEntries.occupied(slot) && extraEntries.queue(slot) == queueId) {
                ids = append(ids, count++, extraEntries.messageId(slot));
            }
        }
        for (int i = 0; i < count; i++) {
            applyRemove(queueId, ids[i]);
        }
    }

    private static long[] append(long[] array, int index, long value) {
        long[] target = index == array.length ? Arrays.copyOf(array, array.length * 2) : array;
        target[index] = value;
        return target;
    }

    void applyMetadataPut(String key, byte[] value) {
        metadata.put(key, value);
    }

    void applyMetadataDelete(String key) {
        metadata.remove(key);
    }

    /**
     * A MESSAGE record: the message stored at {@code location} with {@code storedBytes} of header
     * and body and the caller's {@code attributes}, on the given queues.
     */
    void applyMessage(long messageId, long attributes, long location, int storedBytes, int[] queueIds, int queueCount) {
        highestMessageId = Math.max(highestMessageId, messageId);
        Segment segment = segments.get(RecordFormat.segmentOf(location));
        if (segment != null) {
            segment.totalMessages++;
        }
        if (messages.find(messageId) >= 0) {
            // the caller reused a live id: keep the first body, add the queues
            danglingReferences++;
            for (int i = 0; i < queueCount; i++) {
                applyEnqueue(queueIds[i], messageId);
            }
            return;
        }
        int slot = -1;
        for (int i = 0; i < queueCount; i++) {
            int queueId = queueIds[i];
            if (!queues.containsKey(queueId)) {
                danglingReferences++;
                continue;
            }
            if (slot < 0) {
                slot = messages.insert(messageId);
                messages.setLocation(slot, location, storedBytes);
                messages.setAttributes(slot, attributes);
                messages.setFirstQueue(slot, queueId);
                messages.setFirstEntry(slot, nextSeq++, false);
                messages.setRefCount(slot, 1);
                queueEntries++;
                if (segment != null) {
                    segment.liveMessages++;
                }
            } else {
                addExtraEntry(slot, messageId, queueId);
            }
        }
    }

    /** An ENQUEUE: an already stored message is added to another queue (a no-op if it is there). */
    void applyEnqueue(int queueId, long messageId) {
        int slot = messages.find(messageId);
        if (slot < 0 || !queues.containsKey(queueId)) {
            danglingReferences++;
            return;
        }
        if (messages.firstQueue(slot) == queueId || extraEntries.find(messageId, queueId) >= 0) {
            return; // already on the queue: enqueue is idempotent
        }
        if (messages.firstQueue(slot) == 0 && messages.refCount(slot) < MessageIndex.MAX_REF_COUNT) {
            messages.setFirstQueue(slot, queueId);
            messages.setFirstEntry(slot, nextSeq++, false);
            messages.setRefCount(slot, messages.refCount(slot) + 1);
            queueEntries++;
        } else {
            addExtraEntry(slot, messageId, queueId);
        }
    }

    private void addExtraEntry(int slot, long messageId, int queueId) {
        if (messages.firstQueue(slot) == queueId || extraEntries.find(messageId, queueId) >= 0) {
            return;
        }
        int refCount = messages.refCount(slot);
        if (refCount >= MessageIndex.MAX_REF_COUNT) {
            danglingReferences++;
            return;
        }
        extraEntries.insert(messageId, queueId, nextSeq++, false);
        // the insert may have resized extraEntries, never messages: slot is still valid
        messages.setRefCount(slot, refCount + 1);
        queueEntries++;
    }

    /** A REMOVE: the message leaves the queue; when no queue holds it any more it is dead. */
    void applyRemove(int queueId, long messageId) {
        int slot = messages.find(messageId);
        if (slot < 0) {
            danglingReferences++;
            return;
        }
        if (messages.firstQueue(slot) == queueId) {
            messages.setFirstQueue(slot, 0);
        } else {
            int extra = extraEntries.find(messageId, queueId);
            if (extra < 0) {
                danglingReferences++;
                return;
            }
            extraEntries.removeAt(extra);
        }
        queueEntries--;
        int refCount = messages.refCount(slot) - 1;
        if (refCount > 0) {
            messages.setRefCount(slot, refCount);
            return;
        }
        Segment segment = segments.get(RecordFormat.segmentOf(messages.location(slot)));
        messages.removeAt(slot);
        if (segment != null && --segment.liveMessages == 0 && segment.id != activeSegmentId) {
            segmentDied = true;
        }
    }

    void applyDelivered(int queueId, long messageId) {
        int slot = messages.find(messageId);
        if (slot < 0) {
            danglingReferences++;
            return;
        }
        if (messages.firstQueue(slot) == queueId) {
            messages.setFirstRedelivered(slot);
            return;
        }
        int extra = extraEntries.find(messageId, queueId);
        if (extra < 0) {
            danglingReferences++;
            return;
        }
        extraEntries.setRedelivered(extra);
    }

    /**
     * A RELOCATED record: compaction copied a live message to {@code newLocation}. At run time
     * {@code expectedLocation} is where the compactor read it (the move is dropped if the message
     * died or moved meanwhile); replay passes -1 to accept any.
     */
    void applyRelocated(long messageId, long expectedLocation, long newLocation, int storedBytes) {
        Segment target = segments.get(RecordFormat.segmentOf(newLocation));
        if (target != null) {
            target.totalMessages++;
        }
        int slot = messages.find(messageId);
        if (slot < 0 || (expectedLocation >= 0 && messages.location(slot) != expectedLocation)) {
            return;
        }
        Segment source = segments.get(RecordFormat.segmentOf(messages.location(slot)));
        messages.setLocation(slot, newLocation, storedBytes);
        if (target != null) {
            target.liveMessages++;
        }
        if (source != null && --source.liveMessages == 0 && source.id != activeSegmentId) {
            segmentDied = true;
        }
    }

    /** Restores one {@link MessageIndex} slot from a checkpoint (recovery thread). */
    void loadMessageSlot(long[] source, int base) {
        int slot = messages.insert(source[base + MessageIndex.KEY] - 1);
        messages.setField(slot, MessageIndex.LOCATION, source[base + MessageIndex.LOCATION]);
        messages.setField(slot, MessageIndex.ENTRY, source[base + MessageIndex.ENTRY]);
        messages.setField(slot, MessageIndex.QUEUE_AND_LENGTH, source[base + MessageIndex.QUEUE_AND_LENGTH]);
        messages.setField(slot, MessageIndex.ATTRIBUTES, source[base + MessageIndex.ATTRIBUTES]);
        if (messages.firstQueue(slot) != 0) {
            queueEntries++;
        }
    }

    /** Restores one {@link QueueEntryIndex} slot from a checkpoint (recovery thread). */
    void loadExtraEntry(long messageId, int queueId, long seq, boolean redelivered) {
        extraEntries.insert(messageId, queueId, seq, redelivered);
        queueEntries++;
    }

    /** Drops every live message stored in a segment that is gone (recovery thread). */
    long dropMessagesIn(long segmentId) {
        long[] ids = new long[16];
        int count = 0;
        for (int slot = 0; slot < messages.capacity; slot++) {
            if (messages.occupied(slot) && RecordFormat.segmentOf(messages.location(slot)) == segmentId) {
                ids = append(ids, count++, messages.messageId(slot));
            }
        }
        for (int i = 0; i < count; i++) {
            long messageId = ids[i];
            int slot = messages.find(messageId);
            if (messages.firstQueue(slot) != 0) {
                queueEntries--;
            }
            messages.removeAt(slot);
        }
        long[] orphanIds = new long[16];
        long[] orphanQueues = new long[16];
        int orphans = 0;
        for (int slot = 0; slot < extraEntries.capacity; slot++) {
            if (extraEntries.occupied(slot) && messages.find(extraEntries.messageId(slot)) < 0) {
                orphanIds = append(orphanIds, orphans, extraEntries.messageId(slot));
                orphanQueues = append(orphanQueues, orphans++, extraEntries.queue(slot));
            }
        }
        for (int i = 0; i < orphans; i++) {
            int slot = extraEntries.find(orphanIds[i], (int) orphanQueues[i]);
            if (slot >= 0) {
                extraEntries.removeAt(slot);
                queueEntries--;
            }
        }
        return count;
    }

    /** Whether the message is live and its record is at {@code location} (read lock held). */
    boolean isLiveAt(long messageId, long location) {
        int slot = messages.find(messageId);
        return slot >= 0 && messages.location(slot) == location;
    }

    /** Builds each queue's ordered entry list for the broker (recovery thread). */
    RecoveredState toRecoveredState() {
        Map<Integer, EntryList> lists = new HashMap<>();
        for (int queueId : queues.keySet()) {
            lists.put(queueId, new EntryList());
        }
        for (int slot = 0; slot < messages.capacity; slot++) {
            if (messages.occupied(slot) && messages.firstQueue(slot) != 0) {
                EntryList list = lists.get(messages.firstQueue(slot));
                if (list != null) {
                    list.add(
                            messages.firstSeq(slot),
                            messages.messageId(slot),
                            messages.firstRedelivered(slot),
                            messages.attributes(slot),
                            messages.storedBytes(slot));
                }
            }
        }
        for (int slot = 0; slot < extraEntries.capacity; slot++) {
            if (extraEntries.occupied(slot)) {
                EntryList list = lists.get(extraEntries.queue(slot));
                int message = messages.find(extraEntries.messageId(slot));
                if (list != null && message >= 0) {
                    long entry = extraEntries.field(slot, QueueEntryIndex.ENTRY);
                    list.add(
                            entry >>> 1,
                            extraEntries.messageId(slot),
                            (entry & 1) != 0,
                            messages.attributes(message),
                            messages.storedBytes(message));
                }
            }
        }
        Map<String, RecoveredQueue> recovered = new HashMap<>();
        for (Map.Entry<Integer, EntryList> e : lists.entrySet()) {
            StoreQueue queue = new StoreQueue(queues.get(e.getKey()), e.getKey());
            recovered.put(queue.name(), e.getValue().toRecoveredQueue(queue));
        }
        return new RecoveredState(recovered, new HashMap<>(metadata), highestMessageId);
    }

    /** Segments whose counts say no message in them is live, oldest first (writer thread). */
    List<Segment> deadSegmentsBefore(long segmentId) {
        List<Segment> dead = new ArrayList<>();
        for (Segment segment : segments.headMap(segmentId, false).values()) {
            if (segment.liveMessages == 0) {
                dead.add(segment);
            }
        }
        return dead;
    }

    /** Entries of one queue gathered in index order, then sorted by sequence number. */
    private static final class EntryList {
        private long[] seqs = new long[16];
        private long[] ids = new long[16];
        private long[] attributes = new long[16];
        private int[] storedBytes = new int[16];
        private long[] flags = new long[1];
        private int size;

        void add(long seq, long messageId, boolean redelivered, long messageAttributes, int messageBytes) {
            if (size == seqs.length) {
                seqs = Arrays.copyOf(seqs, size * 2);
                ids = Arrays.copyOf(ids, size * 2);
                attributes = Arrays.copyOf(attributes, size * 2);
                storedBytes = Arrays.copyOf(storedBytes, size * 2);
            }
            seqs[size] = seq;
            ids[size] = messageId;
            attributes[size] = messageAttributes;
            storedBytes[size] = messageBytes;
            if (redelivered) {
                if ((size >>> 6) >= flags.length) {
                    flags = Arrays.copyOf(flags, Math.max(flags.length * 2, (size >>> 6) + 1));
                }
                flags[size >>> 6] |= 1L << size;
            }
            size++;
        }

        RecoveredQueue toRecoveredQueue(StoreQueue queue) {
            long[] keys = new long[size];
            for (int i = 0; i < size; i++) {
                keys[i] = seqs[i];
            }
            int[] positions = sortedPositions(keys);
            long[] sortedIds = new long[size];
            long[] sortedAttributes = new long[size];
            int[] sortedBytes = new int[size];
            long[] sortedFlags = new long[(size + 63) >>> 6];
            for (int i = 0; i < size; i++) {
                int p = positions[i];
                sortedIds[i] = ids[p];
                sortedAttributes[i] = attributes[p];
                sortedBytes[i] = storedBytes[p];
                if ((p >>> 6) < flags.length && (flags[p >>> 6] & (1L << p)) != 0) {
                    sortedFlags[i >>> 6] |= 1L << i;
                }
            }
            return new RecoveredQueue(queue, sortedIds, sortedFlags, sortedAttributes, sortedBytes);
        }

        /** Positions 0..n-1 ordered by {@code keys} (sequence numbers are unique). */
        private static int[] sortedPositions(long[] keys) {
            int n = keys.length;
            long[] sortedKeys = keys.clone();
            Arrays.sort(sortedKeys);
            // map each key to its rank with a binary search: O(n log n), primitive arrays only
            int[] positions = new int[n];
            for (int i = 0; i < n; i++) {
                positions[Arrays.binarySearch(sortedKeys, keys[i])] = i;
            }
            return positions;
        }
    }
}
