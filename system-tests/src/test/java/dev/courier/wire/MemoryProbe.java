package dev.courier.wire;

import io.netty.util.internal.PlatformDependent;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;

/**
 * The memory an in-process broker holds, for tests that check it stays bounded: direct memory
 * (Netty's own counter when it allocates without cleaners, plus the JDK's direct buffer pool) and
 * heap in use after a collection. Generous limits only: both include everything else in the test
 * JVM.
 */
final class MemoryProbe {
    private MemoryProbe() {}

    static final long MIB = 1024L * 1024;

    /** Bytes of direct memory in use. */
    static long directBytes() {
        long netty = Math.max(0, PlatformDependent.usedDirectMemory());
        long nio = 0;
        for (BufferPoolMXBean pool : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
            if (pool.getName().equals("direct")) {
                nio += pool.getMemoryUsed();
            }
        }
        return netty + nio;
    }

    /** Bytes of heap in use right after asking for a full collection. */
    static long heapBytesAfterGc() {
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        memory.gc();
        return memory.getHeapMemoryUsage().getUsed();
    }

    /** Both, for assertion messages. */
    static String describe() {
        return "direct " + directBytes() / MIB + " MiB, heap " + heapBytesAfterGc() / MIB + " MiB";
    }
}
