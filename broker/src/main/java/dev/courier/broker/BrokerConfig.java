package dev.courier.broker;

/**
 * Settings of the broker domain.
 *
 * @param queueThreads threads that run queue actors (one queue runs on one thread at a time)
 */
public record BrokerConfig(int queueThreads) {
    public BrokerConfig {
        if (queueThreads < 1) {
            throw new IllegalArgumentException("queueThreads must be at least 1, got " + queueThreads);
        }
    }

    /** One queue thread per available processor. */
    public static BrokerConfig defaults() {
        return new BrokerConfig(Runtime.getRuntime().availableProcessors());
    }
}
