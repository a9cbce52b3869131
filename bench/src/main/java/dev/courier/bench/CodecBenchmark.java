package dev.courier.bench;

import dev.courier.protocol.Amqp;
import dev.courier.protocol.BasicProperties;
import dev.courier.protocol.Frame;
import dev.courier.protocol.FrameReader;
import dev.courier.protocol.FrameWriter;
import dev.courier.protocol.HeaderFrame;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * Frame decode and encode on the publish and deliver paths: one basic.publish (method + header +
 * 1 KB body) decoded, and one basic.deliver encoded.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class CodecBenchmark {
    private final ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
    private ByteBuf publishFrames;
    private ByteBuf body;
    private ByteBuf properties;

    @Setup
    public void setUp() {
        body = Unpooled.directBuffer(1024).writeBytes(new byte[1024]);
        properties = Unpooled.buffer();
        new BasicProperties(
                        "application/json",
                        null,
                        Map.of("tenant", "acme"),
                        2,
                        null,
                        "corr-1",
                        "replies",
                        null,
                        "m-1",
                        null,
                        null,
                        null,
                        null,
                        null)
                .encode(properties);
        publishFrames = Unpooled.directBuffer();
        FrameWriter.writeMethod(publishFrames, 1, new Amqp.Basic.Publish("orders", "orders.eu.new", false, false));
        FrameWriter.writeHeader(publishFrames, 1, body.readableBytes(), properties);
        FrameWriter.writeBodyFrame(publishFrames, 1, body);
    }

    @TearDown
    public void tearDown() {
        publishFrames.release();
        body.release();
        properties.release();
    }

    /** Decodes a whole publish (three frames), releasing the slices as the broker would. */
    @Benchmark
    public void decodePublish(Blackhole blackhole) {
        ByteBuf in = publishFrames.duplicate();
        Frame frame;
        while ((frame = FrameReader.read(in, 131072)) != null) {
            blackhole.consume(frame);
            if (frame instanceof HeaderFrame header) {
                header.properties().release();
            } else if (frame instanceof dev.courier.protocol.BodyFrame bodyFrame) {
                bodyFrame.content().release();
            }
        }
    }

    /** Encodes a delivery (method, header and body frames) into one pooled buffer. */
    @Benchmark
    public void encodeDeliver(Blackhole blackhole) {
        ByteBuf out = FrameWriter.encodeContent(
                alloc,
                1,
                new Amqp.Basic.Deliver("amq.ctag-abcdefghijklmnopqrstuv", 42, false, "orders", "orders.eu.new"),
                properties,
                body,
                131072);
        blackhole.consume(out.readableBytes());
        out.release();
    }

    /** Decodes the content properties (what headers routing and dead-lettering need). */
    @Benchmark
    public BasicProperties decodeProperties() {
        return BasicProperties.decode(properties.duplicate());
    }
}
