package dev.courier.broker;

import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.LongSupplier;

/**
 * What every queue of a broker shares: the executor its actor runs on, the timer that wakes it
 * for expiries, and the clock (injectable so tests can drive time).
 */
record QueueRuntime(Executor executor, ScheduledExecutorService timer, LongSupplier clockMs) {}
