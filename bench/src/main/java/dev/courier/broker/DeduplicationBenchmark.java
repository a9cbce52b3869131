package dev.courier.broker;

import dev.courier.protocol.BasicProperties;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What x-message-deduplication adds to each enqueue on the queue's thread: decode the message's
 * properties to find its key (message_id here), look the key up in the window, remember it, and
 * evict the oldest key once the window holds {@code windowKeys} (steady state of a full window).
 * {@link #baseline} is the part every enqueue pays anyway (nothing: the fast path never decodes
 * properties), so the figure is the whole overhead per message.
 *
 * <p>In package {@code dev.courier.broker} to reach the package-private window.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgs = "-Xmx2g")
public class DeduplicationBenchmark {
    /** Keys the window holds: x-deduplication-max-keys. */
    @Param({"1000", "1000000"})
    public int windowKeys;

    /** Distinct message ids, cycled: more than the largest window, so none is a duplicate. */
    private static final int MESSAGES = 1 << 21;

    private Deduplication window;
    private ByteBuf[] rawProperties;
    private int next;
    private long nowMs;

    @Setup(Level.Trial)
    public void setUp() {
        QueueArguments arguments = QueueArguments.parse(
                "q",
                "/",
                Map.of(
                        "x-message-deduplication",
                        true,
                        "x-deduplication-max-keys",
                        (long) windowKeys,
                        "x-deduplication-window",
                        3_600_000L));
        window = new Deduplication(arguments, key -> {});
        rawProperties = new ByteBuf[MESSAGES];
        for (int i = 0; i < MESSAGES; i++) {
            ByteBuf raw = Unpooled.buffer(48);
            new BasicProperties(
                            null,
                            null,
                            null,
                            2,
                            null,
                            null,
                            null,
                            null,
                            UUID.randomUUID().toString(),
                            null,
                            null,
                            null,
                            null,
                            null)
                    .encode(raw);
            rawProperties[i] = raw;
        }
        for (int i = 0; i < windowKeys; i++) { // fill the window: each measured enqueue evicts one
            window.remember("warm-" + i, 0);
        }
    }

    /** One enqueue of a message with a new message_id into a full window; answers whether it was a duplicate. */
    @Benchmark
    public boolean deduplicate() {
        // a fresh Message per call, as the broker has: its properties are decoded once, here
        ByteBuf raw = rawProperties[next++ & (MESSAGES - 1)];
        Message message = new Message("", "q", raw.retainedDuplicate(), Unpooled.EMPTY_BUFFER);
        try {
            String key = window.keyOf(message);
            long now = ++nowMs;
            boolean duplicate = window.isDuplicate(key, now);
            if (!duplicate) {
                window.remember(key, now);
            }
            return duplicate;
        } finally {
            message.release();
        }
    }

    /** The same message handling without the window. */
    @Benchmark
    public Message baseline() {
        ByteBuf raw = rawProperties[next++ & (MESSAGES - 1)];
        Message message = new Message("", "q", raw.retainedDuplicate(), Unpooled.EMPTY_BUFFER);
        message.release();
        return message;
    }
}
