package dev.courier.server;

import io.netty.util.internal.PlatformDependent;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.util.List;

/**
 * The two memories the memory watermark watches, each against its own limit: the heap (queue
 * entries, indexes, metadata) and the direct memory outside it, where Netty keeps message bodies
 * as they arrive and while they are queued. A backlog of transient messages grows the second, not
 * the first: watching the heap alone lets it run into the JVM's direct-memory limit.
 */
interface MemoryGauge {
    /** Heap in use after the last collection: live data, not garbage waiting to be collected. */
    long heapLiveBytes();

    long heapMaxBytes();

    /** Direct memory reserved: Netty's buffers (pooled chunks included) and the JDK's direct buffers. */
    long directUsedBytes();

    /** The direct-memory limit ({@code -XX:MaxDirectMemorySize}, by default the maximum heap). */
    long directMaxBytes();

    /** This JVM's figures. */
    static MemoryGauge jvm() {
        List<MemoryPoolMXBean> heapPools = ManagementFactory.getMemoryPoolMXBeans().stream()
                .filter(pool -> pool.getType() == MemoryType.HEAP && pool.isCollectionUsageThresholdSupported())
                .toList();
        List<BufferPoolMXBean> directPools = ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class).stream()
                .filter(pool -> pool.getName().equals("direct"))
                .toList();
        return new MemoryGauge() {
            @Override
            public long heapLiveBytes() {
                long live = 0;
                for (MemoryPoolMXBean pool : heapPools) {
                    var usage = pool.getCollectionUsage();
                    live += usage == null ? 0 : usage.getUsed();
                }
                return live;
            }

            @Override
            public long heapMaxBytes() {
                return Runtime.getRuntime().maxMemory();
            }

            @Override
            public long directUsedBytes() {
                // Netty counts the buffers it allocates without a cleaner (-1 when it does not:
                // then they are JDK direct buffers, which the "direct" pool counts); never both
                long used = Math.max(0, PlatformDependent.usedDirectMemory());
                for (BufferPoolMXBean pool : directPools) {
                    used += pool.getMemoryUsed();
                }
                return used;
            }

            @Override
            public long directMaxBytes() {
                return PlatformDependent.maxDirectMemory();
            }
        };
    }
}
