package dev.courier.cluster.fifo;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The highest publisher sequence number applied per publisher to one queue, so an enqueue
 * resubmitted after a leader change is recognised as a duplicate.
 *
 * <p>Bounded and deterministic: entries are kept in least-recently-published order; past {@link
 * #MAX_PUBLISHERS} the least recently seen is forgotten, and a tick forgets publishers silent for
 * {@link #IDLE_FORGET_MS} (by log time). A forgotten publisher's retry is then enqueued again, so
 * the guarantee holds for retries within those bounds, which covers a leader change.
 */
final class PublisherTracker {
    static final int MAX_PUBLISHERS = 2048;
    static final long IDLE_FORGET_MS = 15 * 60 * 1000L;

    private static final class Entry {
        long highestSeq;
        long lastSeenMs;

        Entry(long highestSeq, long lastSeenMs) {
            this.highestSeq = highestSeq;
            this.lastSeenMs = lastSeenMs;
        }
    }

    private final LinkedHashMap<String, Entry> publishers = new LinkedHashMap<>(16, 0.75f, true);

    int size() {
        return publishers.size();
    }

    boolean isDuplicate(String publisherId, long seq) {
        Entry entry = publishers.get(publisherId);
        return entry != null && seq <= entry.highestSeq;
    }

    void record(String publisherId, long seq, long timeMs) {
        Entry entry = publishers.get(publisherId);
        if (entry == null) {
            publishers.put(publisherId, new Entry(seq, timeMs));
            if (publishers.size() > MAX_PUBLISHERS) {
                Iterator<String> eldest = publishers.keySet().iterator();
                eldest.next();
                eldest.remove();
            }
        } else {
            entry.highestSeq = Math.max(entry.highestSeq, seq);
            entry.lastSeenMs = timeMs;
        }
    }

    void forgetIdle(long timeMs) {
        Iterator<Entry> entries = publishers.values().iterator();
        while (entries.hasNext()) {
            if (timeMs - entries.next().lastSeenMs < IDLE_FORGET_MS) {
                break;
            }
            entries.remove();
        }
    }

    void writeTo(DataOutputStream out) throws IOException {
        out.writeInt(publishers.size());
        for (Map.Entry<String, Entry> e : publishers.entrySet()) {
            out.writeUTF(e.getKey());
            out.writeLong(e.getValue().highestSeq);
            out.writeLong(e.getValue().lastSeenMs);
        }
    }

    void readFrom(DataInputStream in) throws IOException {
        int count = Wire.readCount(in);
        for (int i = 0; i < count; i++) {
            publishers.put(in.readUTF(), new Entry(in.readLong(), in.readLong()));
        }
    }
}
