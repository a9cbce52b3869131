package dev.courier.server;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The disk-free and memory watermarks: checked ten times a second; while either is crossed,
 * connections that publish are blocked (connection.blocked, then their socket is not read) until
 * the condition clears, instead of the broker running out of disk or heap.
 *
 * <p>Memory is watched twice against the same watermark ({@link MemoryGauge}): the heap in use
 * after the last collection (live data, not garbage waiting to be collected) as a fraction of the
 * maximum heap, and the direct memory in use (message bodies) as a fraction of the direct-memory
 * limit. Thread-safe; limits can be changed at run time.
 */
public final class ResourceAlarms implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ResourceAlarms.class);
    /**
     * Direct memory is a hard limit (past it allocations fail) and a publisher on loopback can add
     * 50-100 MB a second: checked once a second, it ran past a 64 MiB limit before the alarm was
     * raised. A check is a few MXBean reads and one statfs.
     */
    private static final long CHECK_INTERVAL_MS = 100;

    private static final String LOW_ON_DISK = "low on disk";
    private static final String MEMORY = "memory";

    private final LongSupplier usableDiskBytes;
    private final MemoryGauge memory;
    private final Consumer<String> onChange;
    private final ScheduledExecutorService scheduler;
    private volatile long diskFreeLimitBytes;
    private volatile double memoryHighWatermark;
    private volatile String reason;

    /**
     * @param usableDiskBytes free space on the data disk (the store's)
     * @param onChange told the new reason (null = all clear) whenever it changes; called on the
     *     alarm thread
     */
    ResourceAlarms(ServerConfig config, LongSupplier usableDiskBytes, MemoryGauge memory, Consumer<String> onChange) {
        this.usableDiskBytes = usableDiskBytes;
        this.memory = memory;
        this.onChange = onChange;
        this.diskFreeLimitBytes = config.diskFreeLimitBytes();
        this.memoryHighWatermark = config.memoryHighWatermark();
        this.scheduler = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, "courier-alarms");
            thread.setDaemon(true);
            return thread;
        });
        check();
        scheduler.scheduleWithFixedDelay(this::check, CHECK_INTERVAL_MS, CHECK_INTERVAL_MS, TimeUnit.MILLISECONDS);
    }

    /** Why publishers are blocked now, or null. Readable from any thread. */
    public String reason() {
        return reason;
    }

    /** Changes the disk-free limit (like rabbitmqctl set_disk_free_limit); takes effect at once. */
    public void diskFreeLimitBytes(long bytes) {
        diskFreeLimitBytes = bytes;
        scheduler.execute(this::check);
    }

    /** Changes the memory watermark (fraction of max heap); takes effect at once. */
    public void memoryHighWatermark(double fraction) {
        memoryHighWatermark = fraction;
        scheduler.execute(this::check);
    }

    private void check() {
        try {
            String now = evaluate();
            String before = reason;
            reason = now; // the figures in it stay current
            // the figures change at every check: only a raised, cleared or different alarm is news
            if (isMemoryAlarm(now) != isMemoryAlarm(before) || isDiskAlarm(now) != isDiskAlarm(before)) {
                if (now != null) {
                    LOG.warn("blocking publishers: {}", now);
                } else {
                    LOG.info("resource alarm cleared: publishers may publish again");
                }
                onChange.accept(now);
            }
        } catch (RuntimeException e) {
            LOG.error("resource check failed", e);
        }
    }

    /** Whether {@code reason} (from {@link #reason()}) is the memory watermark's. */
    public static boolean isMemoryAlarm(String reason) {
        return reason != null && reason.startsWith(MEMORY + ":");
    }

    /** Whether {@code reason} (from {@link #reason()}) is the disk-free watermark's. */
    public static boolean isDiskAlarm(String reason) {
        return reason != null && reason.startsWith(LOW_ON_DISK + ":");
    }

    /** Why publishers must be blocked now, or null; package-private for tests. */
    String evaluate() {
        long free = usableDiskBytes.getAsLong();
        if (free < diskFreeLimitBytes) {
            return LOW_ON_DISK + ": " + free + " bytes free on the data disk, limit " + diskFreeLimitBytes;
        }
        long heapMax = memory.heapMaxBytes();
        long heapLive = memory.heapLiveBytes();
        if (heapMax > 0 && heapLive > memoryHighWatermark * heapMax) {
            return MEMORY + ": " + heapLive + " bytes of heap live after collection, watermark "
                    + (long) (memoryHighWatermark * heapMax);
        }
        long directMax = memory.directMaxBytes();
        long directUsed = memory.directUsedBytes();
        if (directMax > 0 && directUsed > memoryHighWatermark * directMax) {
            return MEMORY + ": " + directUsed + " bytes of direct memory in use (message bodies), watermark "
                    + (long) (memoryHighWatermark * directMax) + " of the " + directMax + "-byte limit";
        }
        return null;
    }

    @Override
    public void close() {
        scheduler.shutdownNow();
    }
}
