package dev.courier.broker;

import dev.courier.protocol.BasicProperties;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The cost of a queue's expiry sweep on a deep queue that keeps receiving messages: {@code depth}
 * ready messages that all expire {@code depth} ms after they were enqueued; each operation advances
 * the clock by 1 ms, enqueues one message and runs the sweep (remove what expired, then find the
 * next expiry), which takes out the one message that just expired. This is what {@code
 * ClassicQueue.sweep} does on a queue with x-message-ttl ({@code ttl = queue}) or with a
 * per-message expiration on every message ({@code ttl = message}), here at most every 10 ms.
 *
 * <p>In package {@code dev.courier.broker} to reach the package-private ready list.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class ExpirySweepBenchmark {
    @Param({"100000"})
    public int depth;

    @Param({"1", "10"})
    public int levels;

    @Param({"queue", "message"})
    public String ttl;

    private static final int PRIORITIES = 1 << 16;

    private ReadyList ready;
    private Message message;
    private int[] priorities;
    private int next;
    private long nextId;
    private long nowMs;
    private long expired;

    @Setup
    public void setUp() {
        ready = new ReadyList(levels - 1);
        BasicProperties properties = "message".equals(ttl)
                ? BasicProperties.EMPTY.withExpiration(Integer.toString(depth))
                : BasicProperties.EMPTY;
        ByteBuf raw = Unpooled.buffer();
        properties.encode(raw);
        message = new Message("", "q", raw, Unpooled.EMPTY_BUFFER);
        SplittableRandom random = new SplittableRandom(42);
        priorities = new int[PRIORITIES];
        for (int i = 0; i < PRIORITIES; i++) {
            priorities[i] = random.nextInt(levels);
        }
        for (int i = 0; i < depth; i++) {
            nowMs++;
            enqueue();
        }
    }

    @TearDown
    public void tearDown() {
        message.release();
    }

    private void enqueue() {
        int priority = priorities[next++ & (PRIORITIES - 1)];
        ready.add(new ReadyList.Entry(nextId++, message, priority, nowMs + depth));
    }

    /** One publish and one sweep. */
    @Benchmark
    public long enqueueAndSweep() {
        nowMs++;
        enqueue();
        ready.removeExpired(nowMs, entry -> expired++);
        return ready.earliestExpiry() + expired;
    }
}
