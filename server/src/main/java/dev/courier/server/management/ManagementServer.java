package dev.courier.server.management;

import dev.courier.broker.Broker;
import dev.courier.server.ServerConfig;
import dev.courier.server.amqp.Authenticator;
import dev.courier.store.MessageStore;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.timeout.ReadTimeoutHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetSocketAddress;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntSupplier;
import java.util.function.Supplier;

/**
 * The management HTTP listener: the JSON API under {@code /api}, Prometheus text at
 * {@code /metrics} and the web page at {@code /}. Shares the AMQP listener's event loops; API
 * calls run on one management thread (a bounded queue of waiting calls, beyond which it answers
 * 503), and a timer samples queue statistics once a second.
 */
public final class ManagementServer implements AutoCloseable {
    /** Largest request body accepted (JSON definitions, debug publishes). */
    static final int MAX_REQUEST_BYTES = 16 * 1024 * 1024;
    /** An idle HTTP connection is closed after this long. */
    static final int IDLE_TIMEOUT_SECONDS = 60;

    private final ThreadPoolExecutor executor;
    private final ScheduledExecutorService timer;
    private final StatsSampler sampler;
    private final MetricsEndpoint metrics;
    private final Channel listener;

    /**
     * Binds the management port from {@code config} (HTTPS when {@code tls} is set); the caller
     * closes it. Every accepted socket joins {@code clientChannels}, which the caller closes.
     */
    public ManagementServer(
            ServerConfig config,
            Broker broker,
            MessageStore store,
            PrometheusMeterRegistry meters,
            AtomicInteger channels,
            Authenticator authenticator,
            Set<Object> connections,
            Supplier<String> alarm,
            IntSupplier amqpPort,
            SslContext tls,
            EventLoopGroup boss,
            EventLoopGroup workers,
            ChannelGroup clientChannels)
            throws InterruptedException {
        this.executor = new ThreadPoolExecutor(
                1,
                1,
                0,
                TimeUnit.MILLISECONDS,
                new ArrayBlockingQueue<>(1024),
                new DefaultThreadFactory("courier-management", true));
        this.timer = Executors.newSingleThreadScheduledExecutor(new DefaultThreadFactory("courier-stats", true));
        this.sampler = new StatsSampler(broker, timer, System::currentTimeMillis);
        this.metrics = new MetricsEndpoint(meters, broker, store, connections, channels, alarm);
        ManagementApi api =
                new ManagementApi(config, broker, authenticator.users(), connections, sampler, alarm, amqpPort);
        StaticPages pages = new StaticPages();
        try {
            this.listener = new ServerBootstrap()
                    .group(boss, workers)
                    .channel(NioServerSocketChannel.class)
                    .option(ChannelOption.SO_REUSEADDR, true)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel channel) {
                            clientChannels.add(channel); // the server closes them when it stops
                            if (tls != null) {
                                channel.pipeline().addLast(tls.newHandler(channel.alloc()));
                            }
                            channel.pipeline()
                                    .addLast(new ReadTimeoutHandler(IDLE_TIMEOUT_SECONDS))
                                    .addLast(new HttpServerCodec())
                                    .addLast(new HttpObjectAggregator(MAX_REQUEST_BYTES))
                                    .addLast(new ManagementHttpHandler(api, authenticator, executor, pages, metrics));
                        }
                    })
                    .bind(new InetSocketAddress(config.bindAddress(), config.httpPort()))
                    .sync()
                    .channel();
        } catch (RuntimeException | InterruptedException e) {
            shutdownThreads();
            throw e;
        }
    }

    /** The port actually bound. */
    public int port() {
        return ((InetSocketAddress) listener.localAddress()).getPort();
    }

    @Override
    public void close() {
        listener.close().syncUninterruptibly();
        shutdownThreads();
    }

    private void shutdownThreads() {
        sampler.close();
        timer.shutdownNow();
        executor.shutdownNow();
        metrics.close();
    }
}
