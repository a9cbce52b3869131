package dev.courier.broker;

import java.util.function.LongSupplier;

/**
 * Settings of the broker domain.
 *
 * @param queueThreads threads that run queue actors (one queue runs on one thread at a time)
 * @param clockMs wall-clock milliseconds for TTLs and x-death times; injectable for tests
 * @param memoryWindowMessages ready messages per queue kept in memory; persistent messages on
 *     durable queues beyond it live only on disk until they near the head
 */
public record BrokerConfig(int queueThreads, LongSupplier clockMs, int memoryWindowMessages) {
    /** Default memory window: 10,000 messages per queue. */
    public static final int DEFAULT_MEMORY_WINDOW_MESSAGES = 10_000;

    public BrokerConfig {
        if (queueThreads < 1) {
            throw new IllegalArgumentException("queueThreads must be at least 1, got " + queueThreads);
        }
        if (memoryWindowMessages < 1) {
            throw new IllegalArgumentException("memoryWindowMessages must be at least 1, got " + memoryWindowMessages);
        }
    }

    /** A copy with another memory window. */
    public BrokerConfig withMemoryWindowMessages(int messages) {
        return new BrokerConfig(queueThreads, clockMs, messages);
    }

    /** A copy with another clock (tests drive TTLs and x-death times with it). */
    public BrokerConfig withClockMs(LongSupplier clock) {
        return new BrokerConfig(queueThreads, clock, memoryWindowMessages);
    }

    /** With the system clock. */
    public BrokerConfig(int queueThreads) {
        this(queueThreads, System::currentTimeMillis, DEFAULT_MEMORY_WINDOW_MESSAGES);
    }

    /** One queue thread per available processor, system clock. */
    public static BrokerConfig defaults() {
        return new BrokerConfig(Runtime.getRuntime().availableProcessors());
    }
}
