package dev.courier.broker;

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
 * Enqueue plus dequeue on a queue's ready list with 1, 10 and 255 priority levels (x-max-priority
 * 0, 9 and 254), holding {@code depth} messages of random priorities. One sub-queue per level and a
 * bitmap of non-empty levels should make the cost flat across level counts; RabbitMQ's classic
 * priority queues slow down as levels grow.
 *
 * <p>In package {@code dev.courier.broker} to reach the package-private ready list.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class PriorityQueueBenchmark {
    @Param({"1", "10", "255"})
    public int levels;

    @Param({"1000"})
    public int depth;

    private static final int PRIORITIES = 1 << 16;

    private ReadyList ready;
    private Message message;
    private int[] priorities;
    private int next;
    private long nextId;

    @Setup
    public void setUp() {
        ready = new ReadyList(levels - 1);
        message = new Message("", "q", Unpooled.buffer(2).writeShort(0), Unpooled.EMPTY_BUFFER);
        SplittableRandom random = new SplittableRandom(42);
        priorities = new int[PRIORITIES];
        for (int i = 0; i < PRIORITIES; i++) {
            priorities[i] = random.nextInt(levels);
        }
        for (int i = 0; i < depth; i++) {
            enqueue();
        }
    }

    @TearDown
    public void tearDown() {
        message.release();
    }

    private void enqueue() {
        int priority = priorities[next++ & (PRIORITIES - 1)];
        ready.add(new ReadyList.Entry(nextId++, message, priority, 0));
    }

    @Benchmark
    public long enqueueAndDequeue() {
        enqueue();
        return ready.poll().id;
    }
}
