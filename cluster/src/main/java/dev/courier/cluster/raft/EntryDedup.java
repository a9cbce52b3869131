package dev.courier.cluster.raft;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeSet;

/**
 * Which entries each proposer has had applied, so that an entry proposed twice is applied once: a
 * batcher that resends its in-flight entries through a client pointed at a new leader cannot know
 * whether the old leader committed them first, and the Ratis client itself may resend. Entries of
 * one origin usually arrive in sequence order but need not across a leader change (a retried
 * request may come after later ones), so per origin it keeps the sequence up to which every entry
 * was applied plus the applied sequences above it, and the replies of its last few entries, to
 * answer a duplicate as the original was answered.
 *
 * <p>A gap that stays open while {@link #MAX_ABOVE} later entries are applied is closed: an entry
 * that far behind can no longer be in flight (a batcher keeps far fewer in flight), and if a stale
 * copy turns up after all it is not applied (its proposer was told it failed).
 *
 * <p>Part of the replicated state: every replica applies the same entries in the same order and so
 * holds the same sequences; they travel in snapshots, the cached replies do not (a duplicate older
 * than the snapshot is answered with {@code null}, and still not applied). Bounded: the origins
 * least recently heard from are forgotten beyond {@link #MAX_ORIGINS}. Guarded by the state
 * machine's lock.
 */
final class EntryDedup {
    static final int MAX_ORIGINS = 256;
    static final int MAX_ABOVE = 256;
    static final int REPLIES_PER_ORIGIN = 64;

    private record Applied(long seq, byte[] replies) {}

    private static final class Origin {
        /** Every entry up to this sequence was applied (or its gap closed). */
        long contiguous;
        /** Applied sequences above {@code contiguous + 1}. */
        final TreeSet<Long> above = new TreeSet<>();

        final ArrayDeque<Applied> recent = new ArrayDeque<>();

        boolean applied(long seq) {
            return seq <= contiguous || above.contains(seq);
        }

        void add(long seq) {
            if (seq <= contiguous) {
                return;
            }
            above.add(seq);
            while (!above.isEmpty() && above.first() == contiguous + 1) {
                contiguous = above.pollFirst();
            }
            while (above.size() > MAX_ABOVE) { // close the oldest gap
                contiguous = above.pollFirst();
                while (!above.isEmpty() && above.first() == contiguous + 1) {
                    contiguous = above.pollFirst();
                }
            }
        }
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
        return known != null && known.applied(seq);
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
        known.add(seq);
        known.recent.addLast(new Applied(seq, replies));
        if (known.recent.size() > REPLIES_PER_ORIGIN) {
            known.recent.removeFirst();
        }
    }

    /** Writes the origins with their sequences, least recently heard-from first. */
    void writeTo(DataOutputStream out) throws IOException {
        out.writeInt(origins.size());
        for (Map.Entry<Long, Origin> entry : origins.entrySet()) {
            Origin known = entry.getValue();
            out.writeLong(entry.getKey());
            out.writeLong(known.contiguous);
            out.writeInt(known.above.size());
            for (long seq : known.above) {
                out.writeLong(seq);
            }
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
            known.contiguous = in.readLong();
            int above = in.readInt();
            if (above < 0 || above > MAX_ABOVE) {
                throw new IOException("bad sequence count " + above);
            }
            for (int j = 0; j < above; j++) {
                known.above.add(in.readLong());
            }
            origins.put(origin, known);
        }
    }
}
