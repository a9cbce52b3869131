package dev.courier.client;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Deletes payloads older than a time-to-live from a {@link PayloadStore}: those of messages that
 * were dead-lettered, expired or purged, and all of them when {@link ClaimCheck.Deletion#KEEP} is
 * used. The TTL must exceed the longest time a message may wait in its queues, or a consumer will
 * find its payload gone ({@link PayloadNotFoundException}).
 *
 * <p>{@link #sweepOnce} may be called from any thread; {@link #start} runs it periodically on a
 * daemon thread until {@link #close}.
 */
public final class PayloadSweeper implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(PayloadSweeper.class);

    private final PayloadStore store;
    private final Duration ttl;
    private final Clock clock;
    private ScheduledExecutorService scheduler;

    public PayloadSweeper(PayloadStore store, Duration ttl) {
        this(store, ttl, Clock.systemUTC());
    }

    /** A sweeper whose notion of "now" is {@code clock} (tests pass a fixed clock). */
    public PayloadSweeper(PayloadStore store, Duration ttl, Clock clock) {
        this.store = Objects.requireNonNull(store, "store");
        this.ttl = Objects.requireNonNull(ttl, "ttl");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /** Deletes the payloads stored more than the TTL ago; returns how many. */
    public int sweepOnce() throws IOException {
        return store.deleteOlderThan(clock.instant().minus(ttl));
    }

    /** Sweeps now and then every {@code interval}, until {@link #close}. */
    public synchronized PayloadSweeper start(Duration interval) {
        if (scheduler != null) {
            throw new IllegalStateException("already started");
        }
        scheduler = Executors.newSingleThreadScheduledExecutor(task -> {
            Thread thread = new Thread(task, "courier-payload-sweeper");
            thread.setDaemon(true);
            return thread;
        });
        long periodMs = Math.max(1, interval.toMillis());
        scheduler.scheduleWithFixedDelay(
                () -> {
                    try {
                        int deleted = sweepOnce();
                        if (deleted > 0) {
                            LOG.info("deleted {} payload(s) older than {} from {}", deleted, ttl, store.id());
                        }
                    } catch (IOException | RuntimeException e) {
                        LOG.warn("payload sweep of {} failed; trying again in {} ms", store.id(), periodMs, e);
                    }
                },
                0,
                periodMs,
                TimeUnit.MILLISECONDS);
        return this;
    }

    @Override
    public synchronized void close() {
        if (scheduler != null) {
            scheduler.shutdownNow();
        }
    }
}
