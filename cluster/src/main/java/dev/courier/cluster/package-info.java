/**
 * Replicated (quorum) queues on Apache Ratis.
 *
 * <ul>
 *   <li>{@code dev.courier.cluster.fifo}: the deterministic queue state machine, after RabbitMQ's
 *       rabbit_fifo. Commands in, effects (deliveries, confirms, dead-letters) out; time comes
 *       from the log entry, never the wall clock, so every replica computes the same state.
 *   <li>{@code dev.courier.cluster.raft}: the Raft groups that replicate the commands (few groups,
 *       many queues each), batching commands into log entries, snapshots.
 * </ul>
 *
 * Nothing here knows about AMQP frames or Netty; the broker turns queue operations into commands
 * and effects into deliveries.
 */
package dev.courier.cluster;
