/**
 * The deterministic state of the quorum queues of one Raft group, after RabbitMQ's rabbit_fifo.
 *
 * <p>{@link dev.courier.cluster.fifo.QueueGroupState} applies {@link
 * dev.courier.cluster.fifo.Command}s taken from the Raft log, in log order, with the log entry's
 * index and time; it answers a {@link dev.courier.cluster.fifo.Reply} and appends {@link
 * dev.courier.cluster.fifo.Effect}s (deliveries, dead-letters, consumer cancellations) for the
 * broker to carry out. No clock, no threads, no I/O besides snapshot streams: every replica ends in
 * byte-identical state. Everything here is owned by the group's apply thread; commands, replies,
 * effects and views are immutable values that may be handed to other threads.
 */
package dev.courier.cluster.fifo;
