package dev.courier.cluster.meta;

import java.util.List;
import java.util.SortedMap;

/**
 * What a node hears from the metadata group. Called on the group's apply thread, in log order, on
 * every node (the proposer's included, before its submit completes); implementations must not
 * block for long (the group stops applying meanwhile) and must not wait for a metadata submit.
 */
public interface MetadataListener {
    /** A batch was applied: the keys it changed, in the order it changed them (none are repeated no-ops). */
    void changed(List<MetaChange> changes);

    /**
     * The whole map was replaced from a snapshot (at start, or sent by the leader to a node that
     * fell behind): {@code map} is now all there is; keys not in it are gone. Unmodifiable.
     */
    void restored(SortedMap<String, byte[]> map);
}
