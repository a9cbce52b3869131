package dev.courier.server.management;

import dev.courier.broker.Broker;
import dev.courier.broker.MessageQueue;
import dev.courier.broker.QueueStats;
import dev.courier.broker.VirtualHost;
import dev.courier.server.ResourceAlarms;
import dev.courier.server.amqp.ManagedConnection;
import dev.courier.store.MessageStore;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;

/**
 * Prometheus text at {@code /metrics} through Micrometer: per-queue depth and counters (rates are
 * Prometheus' {@code rate()} over the counters), connections, the store's fsyncs and batches,
 * and the JVM (memory, GC, threads, CPU). Every name starts with {@code courier_} except the
 * JVM's standard ones. Per-queue meters are added and removed as queues come and go, at scrape
 * time; scrapes run on the management executor, one at a time.
 */
final class MetricsEndpoint implements AutoCloseable {
    private final PrometheusMeterRegistry registry;
    private final Broker broker;
    private final Map<MessageQueue, List<Meter>> queueMeters = new IdentityHashMap<>();
    private final JvmGcMetrics gcMetrics = new JvmGcMetrics();

    /** @param registry the server's registry (it also holds the confirm-latency timer) */
    MetricsEndpoint(
            PrometheusMeterRegistry registry,
            Broker broker,
            MessageStore store,
            Set<Object> connections,
            AtomicInteger channels,
            Supplier<String> alarm) {
        this.registry = registry;
        Gauge.builder("courier.alarms.memory_used_watermark", alarm, a -> ResourceAlarms.isMemoryAlarm(a.get()) ? 1 : 0)
                .description("1 while the memory watermark (heap or direct memory) blocks publishers")
                .register(registry);
        Gauge.builder(
                        "courier.alarms.free_disk_space_watermark",
                        alarm,
                        a -> ResourceAlarms.isDiskAlarm(a.get()) ? 1 : 0)
                .description("1 while the disk-free watermark blocks publishers")
                .register(registry);
        this.broker = broker;
        new JvmMemoryMetrics().bindTo(registry);
        gcMetrics.bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ClassLoaderMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        Gauge.builder("courier.connections", connections, ManagedConnection::clients)
                .description("open AMQP client connections (other nodes' links left out)")
                .register(registry);
        Gauge.builder("courier.channels", channels, AtomicInteger::get)
                .description("open AMQP channels")
                .register(registry);
        Gauge.builder("courier.queues", broker, b -> b.vhosts().stream()
                        .mapToInt(v -> v.queues().size())
                        .sum())
                .description("queues in all virtual hosts")
                .register(registry);
        if (store != null) {
            FunctionCounter.builder(
                            "courier.store.fsyncs", store, s -> s.stats().forces())
                    .description("fsyncs of the message store's log")
                    .register(registry);
            FunctionCounter.builder(
                            "courier.store.fsync.time", store, s -> s.stats().forceNanos() / 1e9)
                    .baseUnit("seconds")
                    .description("time spent in fsync (average latency = rate of this / rate of courier_store_fsyncs)")
                    .register(registry);
            FunctionCounter.builder(
                            "courier.store.batches", store, s -> s.stats().batchesWritten())
                    .description("group-commit writes of the message store (records per batch = records / batches)")
                    .register(registry);
            FunctionCounter.builder(
                            "courier.store.records", store, s -> s.stats().recordsWritten())
                    .description("records appended to the message store's log")
                    .register(registry);
            FunctionCounter.builder(
                            "courier.store.written", store, s -> s.stats().bytesWritten())
                    .baseUnit("bytes")
                    .description("bytes appended to the message store's log")
                    .register(registry);
            FunctionCounter.builder("courier.store.segments.preallocated", store, s -> s.stats()
                            .segmentsPreallocated())
                    .description("message-store segments started from a zero-filled spare file")
                    .register(registry);
            FunctionCounter.builder("courier.store.reads", store, s -> s.stats().messagesRead())
                    .description("messages read back from the store (paged-out messages reaching the head)")
                    .register(registry);
            Gauge.builder("courier.store.messages", store, s -> s.stats().liveMessages())
                    .description("messages held by the store")
                    .register(registry);
            Gauge.builder("courier.store.segments", store, s -> s.stats().segments())
                    .description("segment files of the store's log")
                    .register(registry);
            Gauge.builder("courier.store.disk.free", store, s -> s.usableSpaceBytes())
                    .baseUnit("bytes")
                    .description("usable space on the data disk")
                    .register(registry);
        }
    }

    /** The current metrics in Prometheus' text format. */
    FullHttpResponse scrape() {
        String text;
        synchronized (this) {
            syncQueueMeters();
            text = registry.scrape();
        }
        FullHttpResponse http = new DefaultFullHttpResponse(
                HttpVersion.HTTP_1_1,
                HttpResponseStatus.OK,
                Unpooled.wrappedBuffer(text.getBytes(StandardCharsets.UTF_8)));
        http.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
        return http;
    }

    private void syncQueueMeters() {
        Set<MessageQueue> live = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
        for (VirtualHost vhost : broker.vhosts()) {
            for (MessageQueue queue : vhost.queues()) {
                live.add(queue);
                queueMeters.computeIfAbsent(queue, this::register);
            }
        }
        queueMeters.entrySet().removeIf(entry -> {
            if (live.contains(entry.getKey())) {
                return false;
            }
            entry.getValue().forEach(registry::remove);
            return true;
        });
    }

    private List<Meter> register(MessageQueue queue) {
        Tags tags = Tags.of("vhost", queue.vhost().name(), "queue", queue.name());
        List<Meter> meters = new ArrayList<>();
        meters.add(gauge("courier.queue.messages.ready", queue, tags, MessageQueue::messageCount, "ready messages"));
        meters.add(gauge(
                "courier.queue.messages.unacked",
                queue,
                tags,
                q -> q.stats().unacked(),
                "delivered, unacknowledged messages"));
        meters.add(gauge("courier.queue.consumers", queue, tags, MessageQueue::consumerCount, "consumers"));
        meters.add(gauge(
                "courier.queue.messages.ready.bytes",
                queue,
                tags,
                q -> q.stats().readyBytes(),
                "body bytes of ready messages"));
        for (QueueStats.Counter counter : QueueStats.counters()) {
            meters.add(FunctionCounter.builder(
                            "courier.queue." + counter.jsonName().replace('_', '.'), queue, q -> q.stats()
                                    .get(counter))
                    .tags(tags)
                    .description("messages counted as " + counter.jsonName() + " (see RabbitMQ's message_stats)")
                    .register(registry));
        }
        return meters;
    }

    private Meter gauge(String name, MessageQueue queue, Tags tags, ToDoubleFunction<MessageQueue> value, String what) {
        return Gauge.builder(name, queue, value).tags(tags).description(what).register(registry);
    }

    @Override
    public void close() {
        gcMetrics.close();
        registry.close();
    }
}
