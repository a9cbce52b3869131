package dev.courier.wire;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import io.netty.util.ResourceLeakDetectorFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Tracks every Netty buffer (PARANOID leak detection) and records leak reports instead of only
 * logging them, so a test class can fail when the broker leaked a buffer. Installed before any
 * buffer class is loaded (from {@link CourierBroker}'s static initialiser).
 */
final class LeakTracker {
    private static final List<String> LEAKS = new CopyOnWriteArrayList<>();

    private LeakTracker() {}

    static void install() {
        ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
        ResourceLeakDetectorFactory.setResourceLeakDetectorFactory(new ResourceLeakDetectorFactory() {
            @Override
            @SuppressWarnings("deprecation")
            public <T> ResourceLeakDetector<T> newResourceLeakDetector(
                    Class<T> resource, int samplingInterval, long maxActive) {
                return new ResourceLeakDetector<T>(resource, samplingInterval) {
                    @Override
                    protected void reportTracedLeak(String resourceType, String records) {
                        LEAKS.add(resourceType + " leaked:" + records);
                    }

                    @Override
                    protected void reportUntracedLeak(String resourceType) {
                        LEAKS.add(resourceType + " leaked");
                    }
                };
            }
        });
    }

    /** Collects garbage so unreleased buffers are found, and returns (and forgets) the leaks seen. */
    static List<String> collectLeaks() {
        for (int i = 0; i < 5; i++) {
            System.gc();
            // leak reports are emitted when the detector tracks a new buffer
            ByteBuf probe = PooledByteBufAllocator.DEFAULT.buffer(1);
            probe.release();
            System.runFinalization();
        }
        List<String> leaks = new ArrayList<>(LEAKS);
        LEAKS.clear();
        return leaks;
    }
}
