package dev.courier.store;

import java.util.Collection;
import java.util.Map;

/**
 * The durable state found by {@link MessageStore#open}: every durable queue with its entries and
 * the metadata map. Immutable; the store does not keep a reference to it after the caller drops
 * it.
 *
 * @param queues the recovered queues by name
 * @param metadata the recovered metadata values by key (do not modify the arrays)
 * @param highestMessageId the largest message id ever written (-1 if none), so the broker can
 *     continue its id counter above it; {@link MessageStore#nextMessageId()} does that for it
 */
public record RecoveredState(Map<String, RecoveredQueue> queues, Map<String, byte[]> metadata, long highestMessageId) {
    public RecoveredState {
        queues = Map.copyOf(queues);
        metadata = Map.copyOf(metadata);
    }

    public Collection<RecoveredQueue> queueList() {
        return queues.values();
    }
}
