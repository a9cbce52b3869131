package dev.courier.cluster.raft;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Which entries each proposer has had applied, so that an entry proposed twice is applied once: a
 * batcher that resends its in-flight entries through a client pointed at a new leader cannot know
 * whether the old leader committed them first. Per origin it keeps the highest sequence applied
 * (entries of one origin are committed in sequence order) and the replies of its last few
 * entries, to answer a duplicate as the original was answered.
 *
 * <p>Part of the replicated state: every replica applies the same entries in the same order and so
 * holds the same sequences; the sequences travel in snapshots, the cached replies do not (a
 * duplicate older than the snapshot is answered with {@code null}, and still not applied). Bounded:
 * the origins least recently heard from are forgotten beyond {@link #MAX_ORIGINS}. Guarded by the
 * state machine's lock.
 */
final class EntryDedup {
    static final int MAX_ORIGINS = 1024;
    static final int REPLIES_PER_ORIGIN = 64;

    private record Applied(long seq, byte[] replies) {}

    private static final class Origin {
        long lastSeq;
        final ArrayDeque<Applied> recent = new ArrayDeque<>();
    }

    /** Access order: the least recently heard-from origin comes first and is dropped first. */
    private final LinkedHashMap<Long, Origin> origins = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Long, Origin> eldest) {
            return size() > MAX_ORIGINS;
        }
    };

    /** Whether the entry {@code seq} of {@code origin} was applied already (origin 0: never tracked). */
    boolean applied(long origin, long seq) {
        if (origin == 0) {
            return false;
        }
        Origin known = origins.get(origin);
        return known != null && seq <= known.lastSeq;
    }

    /** The replies the entry got when it was applied, or null if no longer kept. */
    byte[] replies(long origin, long seq) {
        Origin known = origins.get(origin);
        if (known == null) {
            return null;
        }
        for (Applied applied : known.recent) {
            if (applied.seq() == seq) {
                return applied.replies();
            }
        }
        return null;
    }

    /** Records that the entry was applied, with its replies. */
    void record(long origin, long seq, byte[] replies) {
        if (origin == 0) {
            return;
        }
        Origin known = origins.computeIfAbsent(origin, o -> new Origin());
        known.lastSeq = Math.max(known.lastSeq, seq);
        known.recent.addLast(new Applied(seq, replies));
        if (known.recent.size() > REPLIES_PER_ORIGIN) {
            known.recent.removeFirst();
        }
    }

    /** Writes the origins and their last sequences, least recently heard-from first. */
    void writeTo(DataOutputStream out) throws IOException {
        out.writeInt(origins.size());
        for (Map.Entry<Long, Origin> entry : origins.entrySet()) {
            out.writeLong(entry.getKey());
            out.writeLong(entry.getValue().lastSeq);
        }
    }

    /** Replaces the state with what {@link #writeTo} wrote. */
    void readFrom(DataInputStream in) throws IOException {
        origins.clear();
        int count = in.readInt();
        if (count < 0 || count > MAX_ORIGINS) {
            throw new IOException("bad origin count " + count);
        }
        for (int i = 0; i < count; i++) {
            long origin = in.readLong();
            Origin known = new Origin();
            known.lastSeq = in.readLong();
            origins.put(origin, known);
        }
    }
}
