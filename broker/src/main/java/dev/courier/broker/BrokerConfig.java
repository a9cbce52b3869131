package dev.courier.broker;

import java.util.function.LongSupplier;

/**
 * Settings of the broker domain.
 *
 * @param queueThreads threads that run queue actors (one queue runs on one thread at a time)
 * @param clockMs wall-clock milliseconds for TTLs and x-death times; injectable for tests
 */
public record BrokerConfig(int queueThreads, LongSupplier clockMs) {
    public BrokerConfig {
        if (queueThreads < 1) {
            throw new IllegalArgumentException("queueThreads must be at least 1, got " + queueThreads);
        }
    }

    /** With the system clock. */
    public BrokerConfig(int queueThreads) {
        this(queueThreads, System::currentTimeMillis);
    }

    /** One queue thread per available processor, system clock. */
    public static BrokerConfig defaults() {
        return new BrokerConfig(Runtime.getRuntime().availableProcessors());
    }
}
