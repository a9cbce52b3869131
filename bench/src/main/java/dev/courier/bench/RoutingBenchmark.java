package dev.courier.bench;

import dev.courier.broker.Broker;
import dev.courier.broker.BrokerConfig;
import dev.courier.broker.Message;
import dev.courier.broker.MessageQueue;
import dev.courier.broker.VirtualHost;
import io.netty.buffer.Unpooled;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
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
 * Routing a publish through a topic exchange with many bindings, and through a direct exchange.
 * Bindings are "region.{r}.orders.*" and "region.{r}.#" for {@code bindings / 2} regions.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class RoutingBenchmark {
    @Param({"10", "1000"})
    public int bindings;

    private Broker broker;
    private VirtualHost vhost;
    private Message message;
    private final List<MessageQueue> out = new ArrayList<>();

    @Setup
    public void setUp() throws Exception {
        broker = new Broker(new BrokerConfig(1));
        vhost = broker.vhost("/");
        vhost.declareExchange("topics", "topic", false, false, false, false, Map.of());
        vhost.declareExchange("direct", "direct", false, false, false, false, Map.of());
        for (int i = 0; i < bindings / 2; i++) {
            String queue = "q" + i;
            vhost.declareQueue(queue, false, false, false, false, Map.of(), null)
                    .get();
            vhost.bindQueue(queue, "topics", "region." + i + ".orders.*", Map.of(), null);
            vhost.bindQueue(queue, "topics", "region." + i + ".#", Map.of(), null);
            vhost.bindQueue(queue, "direct", "key" + i, Map.of(), null);
        }
        message = new Message("topics", "", Unpooled.buffer(2).writeShort(0), Unpooled.EMPTY_BUFFER);
    }

    @TearDown
    public void tearDown() {
        message.release();
        broker.close();
    }

    @Benchmark
    public int topic() {
        out.clear();
        vhost.route("topics", "region.7.orders.new", message, out);
        return out.size();
    }

    @Benchmark
    public int direct() {
        out.clear();
        vhost.route("direct", "key3", message, out);
        return out.size();
    }
}
