package dev.courier.broker;

import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.LongSupplier;

/**
 * What every queue of a broker shares: the executor its actor runs on, the timer that wakes it
 * for expiries, the clock (injectable so tests can drive time) and how many ready messages a
 * queue keeps in memory before stored ones are paged out, and the quorum queues of the cluster.
 */
record QueueRuntime(
        Executor executor,
        ScheduledExecutorService timer,
        LongSupplier clockMs,
        int memoryWindowMessages,
        QuorumDirectory quorum) {}
