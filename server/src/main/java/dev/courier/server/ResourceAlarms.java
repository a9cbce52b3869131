package dev.courier.server;

import dev.courier.store.MessageStore;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The disk-free and memory watermarks: checked once a second; while either is crossed,
 * connections that publish are blocked (connection.blocked, then their socket is not read) until
 * the condition clears, instead of the broker running out of disk or heap.
 *
 * <p>Memory is the heap in use after the last collection (live data, not garbage waiting to be
 * collected), as a fraction of the maximum heap. Thread-safe; limits can be changed at run time.
 */
public final class ResourceAlarms implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ResourceAlarms.class);

    private final MessageStore store;
    private final Consumer<String> onChange;
    private final ScheduledExecutorService scheduler;
    private final List<MemoryPoolMXBean> heapPools;
    private volatile long diskFreeLimitBytes;
    private volatile double memoryHighWatermark;
    private volatile String reason;

    /**
     * @param onChange told the new reason (null = all clear) whenever it changes; called on the
     *     alarm thread
     */
    ResourceAlarms(ServerConfig config, MessageStore store, Consumer<String> onChange) {
        this.store = store;
        this.onChange = onChange;
        this.diskFreeLimitBytes = config.diskFreeLimitBytes();
        this.memoryHighWatermark = config.memoryHighWatermark();
        this.heapPools = ManagementFactory.getMemoryPoolMXBeans().stream()
                .filter(pool -> pool.getType() == MemoryType.HEAP && pool.isCollectionUsageThresholdSupported())
                .toList();
        this.scheduler = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, "courier-alarms");
            thread.setDaemon(true);
            return thread;
        });
        check();
        scheduler.scheduleWithFixedDelay(this::check, 1, 1, TimeUnit.SECONDS);
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
            if (!java.util.Objects.equals(now, reason)) {
                if (now != null) {
                    LOG.warn("blocking publishers: {}", now);
                } else {
                    LOG.info("resource alarm cleared: publishers may publish again");
                }
                reason = now;
                onChange.accept(now);
            }
        } catch (RuntimeException e) {
            LOG.error("resource check failed", e);
        }
    }

    private String evaluate() {
        long free = store.usableSpaceBytes();
        if (free < diskFreeLimitBytes) {
            return "low on disk: " + free + " bytes free on the data disk, limit " + diskFreeLimitBytes;
        }
        long max = Runtime.getRuntime().maxMemory();
        long live = 0;
        for (MemoryPoolMXBean pool : heapPools) {
            var usage = pool.getCollectionUsage();
            live += usage == null ? 0 : usage.getUsed();
        }
        if (max > 0 && live > memoryHighWatermark * max) {
            return "memory: " + live + " bytes of heap live after collection, watermark "
                    + (long) (memoryHighWatermark * max);
        }
        return null;
    }

    @Override
    public void close() {
        scheduler.shutdownNow();
    }
}
