package dev.courier.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class ResourceAlarmsTest {
    private static final long MIB = 1024 * 1024;

    /** A gauge whose figures the test sets; limits of 1,000 MiB heap and 100 MiB direct. */
    private static final class Figures implements MemoryGauge {
        final AtomicLong heapLive = new AtomicLong(10 * MIB);
        final AtomicLong directUsed = new AtomicLong(10 * MIB);

        @Override
        public long heapLiveBytes() {
            return heapLive.get();
        }

        @Override
        public long heapMaxBytes() {
            return 1000 * MIB;
        }

        @Override
        public long directUsedBytes() {
            return directUsed.get();
        }

        @Override
        public long directMaxBytes() {
            return 100 * MIB;
        }
    }

    private final Figures memory = new Figures();
    private final AtomicLong freeDisk = new AtomicLong(100L * 1024 * MIB);
    private final AtomicReference<String> told = new AtomicReference<>("none yet");

    private ResourceAlarms alarms() {
        return new ResourceAlarms(ServerConfig.defaults(), freeDisk::get, memory, told::set);
    }

    @Test
    void shouldBlockWhenDirectMemoryPassesTheWatermarkWhileTheHeapIsFine() {
        try (ResourceAlarms alarms = alarms()) {
            assertThat(alarms.evaluate()).isNull();
            memory.directUsed.set(71 * MIB); // watermark 0.7 of 100 MiB
            assertThat(alarms.evaluate())
                    .startsWith("memory: ")
                    .contains("direct memory")
                    .contains(Long.toString(100 * MIB));
            memory.directUsed.set(69 * MIB);
            assertThat(alarms.evaluate()).isNull();
        }
    }

    @Test
    void shouldStillBlockOnTheHeapAndOnTheDisk() {
        try (ResourceAlarms alarms = alarms()) {
            memory.heapLive.set(701 * MIB);
            assertThat(alarms.evaluate()).contains("bytes of heap live after collection");
            memory.heapLive.set(10 * MIB);
            freeDisk.set(MIB);
            assertThat(alarms.evaluate()).startsWith("low on disk");
        }
    }

    @Test
    void shouldTellWhenTheAlarmIsRaisedAndClearedButNotEveryTimeItsFiguresChange() {
        AtomicInteger tellings = new AtomicInteger();
        try (ResourceAlarms alarms = new ResourceAlarms(ServerConfig.defaults(), freeDisk::get, memory, reason -> {
            tellings.incrementAndGet();
            told.set(reason);
        })) {
            memory.directUsed.set(90 * MIB);
            await().until(() -> told.get() != null && told.get().contains("direct memory"));
            memory.directUsed.set(91 * MIB);
            await().until(() -> alarms.reason().contains(Long.toString(91 * MIB)));
            assertThat(tellings).hasValue(1);
            assertThat(alarms.reason()).contains("direct memory");
            memory.directUsed.set(MIB);
            await().until(() -> told.get() == null);
            assertThat(alarms.reason()).isNull();
        }
    }

    @Test
    void shouldMeasureThisJvmsDirectMemory() {
        MemoryGauge jvm = MemoryGauge.jvm();
        assertThat(jvm.directMaxBytes()).isPositive();
        ByteBuffer buffer = ByteBuffer.allocateDirect((int) (4 * MIB));
        assertThat(jvm.directUsedBytes()).isGreaterThanOrEqualTo(4 * MIB);
        assertThat(buffer.capacity()).isEqualTo(4 * MIB);
    }
}
