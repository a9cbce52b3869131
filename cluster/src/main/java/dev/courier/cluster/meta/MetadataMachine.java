package dev.courier.cluster.meta;

import dev.courier.cluster.raft.ReplicatedStateMachine;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * The metadata group's state machine: a sorted key-value map changed by {@link MetaBatch}es, each
 * applied atomically and deterministically (no clock, no randomness, sorted iteration). Every
 * change is told to the {@link MetadataListener}; a snapshot restore hands it the whole map.
 *
 * <p>Threading: the map and the applied index have one writer, the group's apply thread ({@link
 * #apply}, {@link #readSnapshot}); {@link #get}, {@link #prefix} and {@link #awaitApplied} may be
 * called from any thread and see a recent, weakly consistent state.
 *
 * <p>Snapshot: {@code version:int32 (1) appliedIndex:int64 count:int32 (key:string value:bytes)*count}.
 */
final class MetadataMachine implements ReplicatedStateMachine {
    private static final int SNAPSHOT_VERSION = 1;

    private final MetadataListener listener;
    private final ConcurrentSkipListMap<String, byte[]> map = new ConcurrentSkipListMap<>();
    // Written by the apply thread only; read under waiters' lock and by any thread.
    private volatile long appliedIndex = -1;
    /** Submits waiting to see their entry applied here: index to futures. Guarded by itself. */
    private final TreeMap<Long, List<CompletableFuture<Void>>> waiters = new TreeMap<>();

    MetadataMachine(MetadataListener listener) {
        this.listener = listener;
    }

    @Override
    public byte[] apply(long index, long timeMs, byte[] command, boolean leader) {
        MetaBatch batch;
        try {
            batch = MetaBatch.decode(command);
        } catch (IOException e) {
            advance(index);
            throw new UncheckedIOException("undecodable metadata batch at index " + index, e);
        }
        MetaResult result = applyBatch(index, batch);
        advance(index);
        return result.encode();
    }

    private MetaResult applyBatch(long index, MetaBatch batch) {
        List<MetaOp> ops = batch.ops();
        for (int i = 0; i < ops.size(); i++) {
            MetaOp op = ops.get(i);
            if (op instanceof MetaOp.ExpectPresent expect && !map.containsKey(expect.key())) {
                return new MetaResult(index, i, null);
            }
            if (op instanceof MetaOp.ExpectNoPrefix expect) {
                String first = firstWithPrefix(expect.prefix());
                if (first != null) {
                    return new MetaResult(index, i, first.getBytes(StandardCharsets.UTF_8));
                }
            }
            if (op instanceof MetaOp.PutIfAbsent put) {
                byte[] existing = map.get(put.key());
                if (existing != null && !Arrays.equals(existing, put.value())) {
                    return new MetaResult(index, i, existing);
                }
            }
        }
        List<MetaChange> changes = new ArrayList<>();
        for (MetaOp op : ops) {
            if (op instanceof MetaOp.Put put) {
                put(put.key(), put.value(), changes);
            } else if (op instanceof MetaOp.PutIfAbsent put) {
                put(put.key(), put.value(), changes);
            } else if (op instanceof MetaOp.Delete delete) {
                if (map.remove(delete.key()) != null) {
                    changes.add(new MetaChange(delete.key(), null));
                }
            } else if (op instanceof MetaOp.DeletePrefix delete) {
                for (String key : List.copyOf(withPrefix(delete.prefix()).keySet())) {
                    map.remove(key);
                    changes.add(new MetaChange(key, null));
                }
            }
        }
        if (!changes.isEmpty()) {
            listener.changed(Collections.unmodifiableList(changes));
        }
        return MetaResult.applied(index);
    }

    private void put(String key, byte[] value, List<MetaChange> changes) {
        byte[] copy = value.clone();
        byte[] previous = map.put(key, copy);
        if (!Arrays.equals(previous, copy)) {
            changes.add(new MetaChange(key, copy.clone()));
        }
    }

    private String firstWithPrefix(String prefix) {
        String first = map.ceilingKey(prefix);
        return first != null && first.startsWith(prefix) ? first : null;
    }

    private NavigableMap<String, byte[]> withPrefix(String prefix) {
        // every key starting with prefix sorts before prefix + U+FFFF
        return map.subMap(prefix, true, prefix + Character.MAX_VALUE, false);
    }

    /** The value of {@code key} as applied here, or null. */
    byte[] get(String key) {
        byte[] value = map.get(key);
        return value == null ? null : value.clone();
    }

    /** The entries whose keys start with {@code prefix}, as applied here; a sorted copy. */
    SortedMap<String, byte[]> prefix(String prefix) {
        return Collections.unmodifiableSortedMap(new TreeMap<>(withPrefix(prefix)));
    }

    /** The index of the last entry applied here (-1 before any). */
    long appliedIndex() {
        return appliedIndex;
    }

    /** Completes once the entry at {@code index} is applied here (at once when it already is). */
    CompletableFuture<Void> awaitApplied(long index) {
        CompletableFuture<Void> applied = new CompletableFuture<>();
        synchronized (waiters) {
            if (appliedIndex >= index) {
                applied.complete(null);
            } else {
                waiters.computeIfAbsent(index, i -> new ArrayList<>(1)).add(applied);
            }
        }
        return applied;
    }

    /** Fails every waiting submit, e.g. when the node closes. */
    void failWaiters(RuntimeException cause) {
        List<CompletableFuture<Void>> failed = new ArrayList<>();
        synchronized (waiters) {
            waiters.values().forEach(failed::addAll);
            waiters.clear();
        }
        failed.forEach(f -> f.completeExceptionally(cause));
    }

    // Apply thread only.
    private void advance(long index) {
        if (index <= appliedIndex) {
            return;
        }
        appliedIndex = index;
        List<CompletableFuture<Void>> ready = new ArrayList<>();
        synchronized (waiters) {
            Map<Long, List<CompletableFuture<Void>>> head = waiters.headMap(index, true);
            head.values().forEach(ready::addAll);
            head.clear();
        }
        ready.forEach(f -> f.complete(null));
    }

    @Override
    public void writeSnapshot(OutputStream out) throws IOException {
        DataOutputStream data = new DataOutputStream(out);
        data.writeInt(SNAPSHOT_VERSION);
        data.writeLong(appliedIndex);
        data.writeInt(map.size());
        for (Map.Entry<String, byte[]> entry : map.entrySet()) {
            MetaBatch.writeBytes(data, entry.getKey().getBytes(StandardCharsets.UTF_8));
            MetaBatch.writeBytes(data, entry.getValue());
        }
        data.flush();
    }

    @Override
    public void readSnapshot(InputStream in) throws IOException {
        DataInputStream data = new DataInputStream(in);
        int version = data.readInt();
        if (version != SNAPSHOT_VERSION) {
            throw new IOException("unknown metadata snapshot version " + version);
        }
        long index = data.readLong();
        int count = data.readInt();
        TreeMap<String, byte[]> read = new TreeMap<>();
        for (int i = 0; i < count; i++) {
            String key = new String(readFully(data), StandardCharsets.UTF_8);
            read.put(key, readFully(data));
        }
        map.clear();
        map.putAll(read);
        listener.restored(Collections.unmodifiableSortedMap(new TreeMap<>(read)));
        advance(index);
    }

    private static byte[] readFully(DataInputStream in) throws IOException {
        int length = in.readInt();
        if (length < 0) {
            throw new IOException("bad length " + length + " in a metadata snapshot");
        }
        return in.readNBytes(length);
    }
}
