/**
 * Replicated (quorum) queues and the replicated metadata on Apache Ratis.
 *
 * <ul>
 *   <li>{@code dev.courier.cluster.fifo}: the deterministic queue state machine, after RabbitMQ's
 *       rabbit_fifo. Commands in, effects (deliveries, confirms, dead-letters) out; time comes
 *       from the log entry, never the wall clock, so every replica computes the same state.
 *   <li>{@code dev.courier.cluster.raft}: the Raft groups that replicate the commands (few groups,
 *       many queues each, plus the metadata group), batching commands into log entries, snapshots.
 *   <li>{@code dev.courier.cluster.meta}: the metadata group's replicated key-value map (vhosts,
 *       users, permissions, exchanges, bindings, queue definitions), with conditional batches.
 * </ul>
 *
 * Nothing here knows about AMQP frames or Netty; the broker turns queue operations into commands
 * and effects into deliveries.
 */
package dev.courier.cluster;
