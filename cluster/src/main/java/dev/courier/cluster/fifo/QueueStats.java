package dev.courier.cluster.fifo;

/**
 * Lifetime counters of one quorum queue, part of the replicated state (so identical on every
 * replica and kept in snapshots). Immutable copy from {@link QueueGroupState#stats}.
 *
 * @param published messages accepted by enqueue
 * @param deduplicated enqueues answered DUPLICATE
 * @param rejected enqueues answered REJECTED
 * @param delivered deliveries, basic.get included
 * @param redelivered deliveries of messages delivered before
 * @param acked messages settled, by ack or auto-ack
 * @param deadLettered messages handed to the dead-letter exchange
 * @param dropped messages discarded without a dead-letter exchange (purge and delete not counted)
 * @param expired messages removed by TTL (also counted in deadLettered or dropped)
 */
public record QueueStats(
        long published,
        long deduplicated,
        long rejected,
        long delivered,
        long redelivered,
        long acked,
        long deadLettered,
        long dropped,
        long expired) {}
