package dev.courier.server;

import dev.courier.broker.Broker;
import dev.courier.broker.BrokerConfig;
import dev.courier.broker.ReplicatedDefinitions;
import dev.courier.cluster.QuorumQueues;
import dev.courier.cluster.meta.ReplicatedMetadata;
import dev.courier.cluster.raft.ClusterConfig;
import dev.courier.server.amqp.AmqpChannelInitializer;
import dev.courier.server.amqp.Authenticator;
import dev.courier.server.amqp.DirectReplyTo;
import dev.courier.server.amqp.ManagedConnection;
import dev.courier.server.amqp.ServerContext;
import dev.courier.server.auth.UserDatabase;
import dev.courier.server.forward.NodeDirectory;
import dev.courier.server.forward.NodeForwarder;
import dev.courier.server.management.ManagementServer;
import dev.courier.store.MessageStore;
import dev.courier.store.StoreConfig;
import dev.courier.store.StoreStats;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.ChannelMatcher;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running Courier broker: the domain plus its network listeners.
 *
 * <p>{@link #start} binds every listener before it returns; {@link #close} stops accepting,
 * closes client connections and releases the broker's resources. Thread-safe.
 */
public final class CourierServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(CourierServer.class);
    /** How long {@link #close} waits for clients to answer connection.close before it drops them. */
    private static final long CLOSE_WAIT_MS = 2_000;

    private static final String DEFAULT_VHOST = "/";

    private final ServerConfig config;
    private final MessageStore store;
    private final Broker broker;
    private final QuorumQueues quorumQueues;
    /** In a cluster: the other nodes' addresses and the secret node links log in with; else null. */
    private final NodeDirectory nodeDirectory;
    /** In a cluster: serves other nodes' classic queues here; else null. */
    private final NodeForwarder forwarder;

    private final EventLoopGroup bossGroup;
    private final EventLoopGroup workerGroup;
    private final Channel amqpChannel;
    private final Channel amqpsChannel;
    private final ManagementServer management;
    private final PrometheusMeterRegistry meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final AtomicInteger channels = new AtomicInteger();
    private final UserDatabase users;
    private final Set<Object> connections = ConcurrentHashMap.newKeySet();
    /** Every accepted client socket, handshake done or not; closed channels leave by themselves. */
    private final ChannelGroup clientChannels =
            new DefaultChannelGroup("courier-clients", GlobalEventExecutor.INSTANCE);

    private final ResourceAlarms alarms;
    private volatile boolean closed;

    private CourierServer(ServerConfig config, LongSupplier clockMs) throws IOException, InterruptedException {
        this.config = config;
        SslContext tls = config.tls().enabled() ? TlsContexts.server(config.tls()) : null; // fail fast on bad files
        ClusterConfig cluster = config.cluster().enabled() ? config.cluster().toClusterConfig(config.dataDir()) : null;
        Files.createDirectories(config.dataDir());
        this.store = MessageStore.open(config.dataDir().resolve("store"), storeConfig(config));
        Broker created;
        try {
            // in a cluster, users come from the metadata group (see UserDatabase.replicated)
            users = cluster != null
                    ? UserDatabase.replicated()
                    : UserDatabase.open(
                            store,
                            config.defaultUser(),
                            config.defaultPassword()); // before the broker releases what the store recovered
            created = new Broker(
                    BrokerConfig.defaults()
                            .withMemoryWindowMessages(config.queueMemoryWindowMessages())
                            .withClockMs(clockMs),
                    store,
                    cluster != null);
        } catch (RuntimeException e) {
            store.close();
            throw e;
        }
        this.broker = created;
        if (cluster != null) {
            try {
                broker.quorumQueues().nodeId(cluster.nodeId(), cluster.groups());
                broker.maxQueuesPerVhost(config.maxQueues());
                ReplicatedMetadata metadata =
                        new ReplicatedMetadata(new MetadataDispatcher(broker.definitions(), users, connections));
                this.nodeDirectory = new NodeDirectory(cluster.nodeId(), cluster.peers(), metadata);
                this.forwarder = new NodeForwarder(cluster.nodeId(), nodeDirectory::amqpAddress, nodeDirectory::secret);
                broker.definitions().forwarder(forwarder);
                // before the groups start: their replay may attach a quorum queue whose bindings
                // the metadata group applied first, and the broker then reads them from it
                broker.definitions().attach(metadata);
                this.quorumQueues = QuorumQueues.start(cluster, broker.quorumQueues(), metadata);
                if (!catchUp(metadata)) {
                    LOG.warn(
                            "node '{}' has not caught up with the cluster's metadata yet (no majority?); retrying in the background",
                            cluster.nodeId());
                    Thread retry =
                            new Thread(() -> catchUpLater(metadata, cluster.nodeId()), "courier-metadata-catch-up");
                    retry.setDaemon(true);
                    retry.start();
                }
                broker.quorumQueues().attach(quorumQueues);
                LOG.info(
                        "node '{}' in cluster {} with {} Raft group(s)",
                        cluster.nodeId(),
                        cluster.peers().keySet(),
                        cluster.groups());
            } catch (IOException | RuntimeException e) {
                broker.close();
                store.close();
                throw e;
            }
        } else {
            this.quorumQueues = null;
            this.nodeDirectory = null;
            this.forwarder = null;
        }
        broker.maxQueuesPerVhost(config.maxQueues());
        this.alarms = new ResourceAlarms(config, store::usableSpaceBytes, MemoryGauge.jvm(), reason -> {
            if (reason == null) {
                for (Object connection : connections) {
                    AmqpChannelInitializer.alarmCleared(connection);
                }
            }
        });
        Authenticator authenticator =
                new Authenticator(users, config.loopbackUsersOnly() ? config.defaultUser() : null);
        if (nodeDirectory != null) {
            authenticator.clusterSecret(nodeDirectory::secret);
        }
        ServerContext context = new ServerContext(
                config,
                broker,
                authenticator,
                forwarder == null ? new DirectReplyTo() : new DirectReplyTo(cluster.nodeId(), forwarder::relayReply),
                connections,
                alarms::reason,
                channels,
                Timer.builder("courier.confirm.latency")
                        .description("from a publish in confirm mode to its basic.ack/nack (fsync included)")
                        .serviceLevelObjectives(
                                Duration.ofMillis(1),
                                Duration.ofMillis(2),
                                Duration.ofMillis(5),
                                Duration.ofMillis(10),
                                Duration.ofMillis(50),
                                Duration.ofMillis(100),
                                Duration.ofSeconds(1))
                        .register(meters));
        this.bossGroup = new MultiThreadIoEventLoopGroup(
                1, new DefaultThreadFactory("courier-accept", true), NioIoHandler.newFactory());
        this.workerGroup = new MultiThreadIoEventLoopGroup(
                0, new DefaultThreadFactory("courier-io", true), NioIoHandler.newFactory());
        try {
            ServerBootstrap bootstrap = new ServerBootstrap()
                    .group(bossGroup, workerGroup)
                    .channel(NioServerSocketChannel.class)
                    .option(ChannelOption.SO_BACKLOG, 1024)
                    .option(ChannelOption.SO_REUSEADDR, true)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childOption(ChannelOption.SO_KEEPALIVE, true)
                    .childOption(
                            ChannelOption.WRITE_BUFFER_WATER_MARK,
                            new WriteBufferWaterMark(512 * 1024, 2 * 1024 * 1024))
                    .childHandler(new AmqpChannelInitializer(context, null, clientChannels));
            this.amqpChannel = bootstrap
                    .bind(new InetSocketAddress(config.bindAddress(), config.amqpPort()))
                    .sync()
                    .channel();
            this.amqpsChannel = config.tls().amqpsPort() < 0
                    ? null
                    : bootstrap
                            .clone()
                            .childHandler(new AmqpChannelInitializer(context, tls, clientChannels))
                            .bind(new InetSocketAddress(
                                    config.bindAddress(), config.tls().amqpsPort()))
                            .sync()
                            .channel();
            this.management = config.httpPort() < 0
                    ? null
                    : new ManagementServer(
                            config,
                            broker,
                            store,
                            meters,
                            channels,
                            authenticator,
                            connections,
                            alarms::reason,
                            this::amqpPort,
                            config.tls().management() ? tls : null,
                            bossGroup,
                            workerGroup,
                            clientChannels);
            if (nodeDirectory != null) {
                nodeDirectory.announce(amqpPort(), workerGroup.next());
            }
        } catch (RuntimeException | InterruptedException e) {
            shutdownGroups(); // closes the AMQP listener too when it was bound
            alarms.close();
            if (quorumQueues != null) {
                quorumQueues.close();
            }
            broker.close();
            store.close();
            throw e;
        }
    }

    /**
     * Proposes the cluster's first users and default vhost (a no-op once the cluster has them) and,
     * once that entry is applied here, so this node has caught up with the metadata log, drops
     * what the cluster no longer has (vhosts deleted, classic queues lost while it was down).
     * False when the metadata group did not commit it in time.
     */
    private boolean catchUp(ReplicatedMetadata metadata) {
        if (!users.attach(
                metadata,
                config.defaultUser(),
                config.defaultPassword(),
                List.of(ReplicatedDefinitions.vhostDefinition(DEFAULT_VHOST)))) {
            return false;
        }
        broker.definitions().caughtUp();
        return true;
    }

    /** {@link #catchUp} until it succeeds or the server closes; each try waits for a commit a while. */
    private void catchUpLater(ReplicatedMetadata metadata, String nodeId) {
        while (!closed) {
            if (catchUp(metadata)) {
                LOG.info("node '{}' caught up with the cluster's metadata", nodeId);
                return;
            }
            try {
                Thread.sleep(1_000); // a try that failed fast (no leader yet) is not repeated at once
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /**
     * Starts a broker and binds its listeners.
     *
     * @throws IOException when the data directory cannot be created or a port cannot be bound
     */
    public static CourierServer start(ServerConfig config) throws IOException, InterruptedException {
        return start(config, System::currentTimeMillis);
    }

    /**
     * Starts a broker whose TTLs and x-death times follow {@code clockMs} instead of the system
     * clock; for tests that need time to pass without waiting.
     */
    public static CourierServer start(ServerConfig config, LongSupplier clockMs)
            throws IOException, InterruptedException {
        try {
            return new CourierServer(config, clockMs);
        } catch (RuntimeException e) {
            // Netty reports bind failures as unchecked exceptions wrapping the socket error
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            if (e instanceof io.netty.channel.ChannelException && e.getCause() != null) {
                throw new IOException(e.getCause().getMessage(), e.getCause());
            }
            throw e;
        }
    }

    private static StoreConfig storeConfig(ServerConfig config) {
        StoreConfig store = StoreConfig.defaults()
                .withSegmentSizeBytes(config.storeSegmentSizeBytes())
                .withPreallocateSegments(config.storePreallocate());
        long batchMs = ServerConfig.fsyncBatchMs(config.fsync());
        return batchMs < 0 ? store.withFsyncAlways() : store.withFsyncBatch(batchMs);
    }

    /** The AMQP port actually bound (useful when configured as 0). */
    public int amqpPort() {
        return ((InetSocketAddress) amqpChannel.localAddress()).getPort();
    }

    /** The AMQPS (TLS) port actually bound, or -1 when there is no TLS listener ({@code ssl.port=-1}). */
    public int amqpsPort() {
        return amqpsChannel == null ? -1 : ((InetSocketAddress) amqpsChannel.localAddress()).getPort();
    }

    /** The management HTTP port actually bound, or -1 when the listener is disabled ({@code http.port=-1}). */
    public int httpPort() {
        return management == null ? -1 : management.port();
    }

    public ServerConfig config() {
        return config;
    }

    /** Users and permissions (what the management API changes). */
    public UserDatabase users() {
        return users;
    }

    public Broker broker() {
        return broker;
    }

    /** The message store's counters since this server opened it (metrics, tests). */
    public StoreStats storeStats() {
        return store.stats();
    }

    /** The disk and memory watermarks; limits can be changed at run time. */
    public ResourceAlarms alarms() {
        return alarms;
    }

    /** Number of open client connections (other nodes' links left out). */
    public int connectionCount() {
        return ManagedConnection.clients(connections);
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        LOG.info("shutting down");
        amqpChannel.close().syncUninterruptibly();
        if (amqpsChannel != null) {
            amqpsChannel.close().syncUninterruptibly();
        }
        if (management != null) {
            management.close();
        }
        closeClientConnections();
        if (forwarder != null) {
            nodeDirectory.close();
            forwarder.close(); // consumers through this node end; their messages go back on their nodes
        }
        shutdownGroups();
        alarms.close();
        if (quorumQueues != null) {
            quorumQueues.close();
        }
        broker.close();
        try {
            store.close();
        } catch (IOException e) {
            LOG.error("closing the message store failed", e);
        }
        LOG.info("stopped");
    }

    /**
     * Tells every client, as RabbitMQ does, with 320 CONNECTION_FORCED; waits a moment for their
     * close-ok, then drops what is left. Done explicitly: an event loop that shuts down does not
     * reliably close the sockets registered with it, and a client would then wait on a half-dead
     * connection until its heartbeat gives up.
     */
    private void closeClientConnections() {
        // a socket accepted just before its listener closed is registered with its I/O loop by a
        // task already queued there: let those tasks run, so that every socket is in the group
        for (EventExecutor loop : workerGroup) {
            loop.submit(() -> {}).awaitUninterruptibly(CLOSE_WAIT_MS);
        }
        for (Object connection : connections) {
            if (connection instanceof ManagedConnection managed) {
                managed.forceClose("broker forced connection closure with reason 'shutdown'");
            }
        }
        ChannelMatcher toldToClose = channel -> {
            Object amqp = channel.pipeline().get("amqp");
            return amqp != null && connections.contains(amqp);
        };
        if (!clientChannels.newCloseFuture(toldToClose).awaitUninterruptibly(CLOSE_WAIT_MS)) {
            LOG.warn("{} client connection(s) did not answer connection.close; dropping them", clientChannels.size());
        }
        clientChannels.close().awaitUninterruptibly(CLOSE_WAIT_MS);
    }

    private void shutdownGroups() {
        bossGroup.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        workerGroup.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
