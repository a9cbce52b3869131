package dev.courier.cluster.fifo;

import java.util.List;

/**
 * A read-only copy of one consumer of a quorum queue, for management and tests ({@link
 * QueueGroupState#consumers}). Immutable.
 *
 * @param getOnly whether this only holds basic.get messages (not a basic.consume consumer)
 * @param unackedIds the messages it holds, in delivery order
 */
public record ConsumerView(
        String consumerId,
        String node,
        int prefetch,
        boolean autoAck,
        int priority,
        boolean getOnly,
        List<Long> unackedIds) {
    public ConsumerView {
        unackedIds = List.copyOf(unackedIds);
    }
}
