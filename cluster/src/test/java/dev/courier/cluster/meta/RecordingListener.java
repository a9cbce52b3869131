package dev.courier.cluster.meta;

import java.util.ArrayList;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Keeps its own copy of the map from what a {@link MetadataListener} hears, as a node reconciling
 * its local state would, and records the calls. Thread-safe (synchronized).
 */
final class RecordingListener implements MetadataListener {
    private final TreeMap<String, byte[]> mirror = new TreeMap<>();
    private final List<List<MetaChange>> batches = new ArrayList<>();
    private int restores;

    @Override
    public synchronized void changed(List<MetaChange> changes) {
        batches.add(List.copyOf(changes));
        for (MetaChange change : changes) {
            if (change.removed()) {
                mirror.remove(change.key());
            } else {
                mirror.put(change.key(), change.value());
            }
        }
    }

    @Override
    public synchronized void restored(SortedMap<String, byte[]> map) {
        restores++;
        mirror.clear();
        mirror.putAll(map);
    }

    /** The mirrored map as text values, for easy comparison. */
    synchronized SortedMap<String, String> texts() {
        TreeMap<String, String> out = new TreeMap<>();
        mirror.forEach((k, v) -> out.put(k, new String(v, java.nio.charset.StandardCharsets.UTF_8)));
        return out;
    }

    synchronized List<List<MetaChange>> batches() {
        return List.copyOf(batches);
    }

    synchronized int restores() {
        return restores;
    }
}
