package dev.courier.cluster.fifo;

/**
 * A read-only snapshot of one quorum queue's size for stats and management, taken on the apply
 * thread ({@link QueueGroupState#queue}). Immutable.
 *
 * @param consumerCount consumers attached with basic.consume (basic.get callers not counted)
 */
public record QueueView(
        String name, QueueSettings settings, int readyCount, int unackedCount, long readyBytes, int consumerCount) {}
