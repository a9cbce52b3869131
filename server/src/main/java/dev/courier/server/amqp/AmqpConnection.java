package dev.courier.server.amqp;

import static dev.courier.protocol.AmqpConstants.ACCESS_REFUSED;
import static dev.courier.protocol.AmqpConstants.CHANNEL_ERROR;
import static dev.courier.protocol.AmqpConstants.COMMAND_INVALID;
import static dev.courier.protocol.AmqpConstants.CONNECTION_FORCED;
import static dev.courier.protocol.AmqpConstants.INTERNAL_ERROR;
import static dev.courier.protocol.AmqpConstants.NOT_ALLOWED;
import static dev.courier.protocol.AmqpConstants.UNEXPECTED_FRAME;

import dev.courier.broker.Message;
import dev.courier.broker.VirtualHost;
import dev.courier.protocol.Amqp;
import dev.courier.protocol.AmqpConstants;
import dev.courier.protocol.Frame;
import dev.courier.protocol.FrameWriter;
import dev.courier.protocol.HeartbeatFrame;
import dev.courier.protocol.Method;
import dev.courier.protocol.MethodFrame;
import dev.courier.server.auth.Permission;
import dev.courier.store.BlobStore;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.stream.ChunkedWriteHandler;
import io.netty.handler.timeout.IdleState;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.collection.IntObjectHashMap;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.net.ssl.SSLPeerUnverifiedException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client connection: the AMQP connection state machine (handshake, tuning, heartbeats,
 * close) and the channels it carries.
 *
 * <p>A Netty handler; every method runs on the connection's event loop except those documented
 * as thread-safe ({@link #execute}, {@link #releasePublishCharge}, {@link #isWritable}).
 */
final class AmqpConnection extends ChannelInboundHandlerAdapter implements ManagedConnection {
    private static final Logger LOG = LoggerFactory.getLogger(AmqpConnection.class);

    /** Publish bytes in flight to queue actors above which the socket stops being read. */
    private static final long PUBLISH_HIGH_WATERMARK_BYTES = 16L * 1024 * 1024;

    private static final long PUBLISH_LOW_WATERMARK_BYTES = 8L * 1024 * 1024;

    /** Large-message body bytes a connection may have waiting for the blob writer (a few frames). */
    private static final long BLOB_HIGH_WATERMARK_BYTES = 1024 * 1024;

    private static final long BLOB_LOW_WATERMARK_BYTES = 256 * 1024;

    /** How long we wait for connection.close-ok after sending connection.close. */
    private static final long CLOSE_OK_TIMEOUT_MS = 1_000;

    private enum State {
        AWAITING_HEADER,
        AWAITING_START_OK,
        AWAITING_TUNE_OK,
        AWAITING_OPEN,
        OPEN,
        CLOSING,
        CLOSED
    }

    private final ServerContext server;
    private final IntObjectHashMap<AmqpChannel> channels = new IntObjectHashMap<>();
    private final ArrayList<AmqpChannel> channelList = new ArrayList<>();
    private final AtomicLong publishBytesInFlight = new AtomicLong();
    private final AtomicBoolean readSuspended = new AtomicBoolean();
    /** Large-message body bytes handed to the blob writer and not yet written. */
    private final AtomicLong blobBytesBehind = new AtomicLong();
    /** Reading is paused until the blob writer catches up. */
    private final AtomicBoolean blobWritesBehind = new AtomicBoolean();

    private ChannelHandlerContext ctx;
    private State state = State.AWAITING_HEADER;
    private ScheduledFuture<?> handshakeTimeout;
    private ScheduledFuture<?> heartbeatSender;
    private AmqpFrameDecoder decoder;
    private VirtualHost vhost;
    private String user;
    private String clientName = "";
    private int channelMax;
    private int frameMax;
    private boolean consumerCancelNotify;
    private boolean blockedNotify;
    private boolean blockedByAlarm;
    private boolean authenticationFailureClose;
    private Map<String, Object> clientProperties = Map.of();
    private int heartbeatSeconds;
    private final long connectedAtMs = System.currentTimeMillis();
    private volatile String name = "";
    private String certificateUser;
    private Permission permission;
    /** Logged in as another node of the cluster, which forwards to this node's classic queues. */
    /** Set once on the event loop during the handshake; read by the management API too. */
    private volatile boolean nodeLink;

    AmqpConnection(ServerContext server, AmqpFrameDecoder decoder) {
        this.server = server;
        this.decoder = decoder;
        this.frameMax = server.config().frameMaxBytes();
        this.channelMax = server.config().channelMax();
    }

    // ---------------------------------------------------------------- accessors for channels

    String user() {
        return user;
    }

    long maxMessageSizeBytes() {
        return server.config().maxMessageSizeBytes();
    }

    /** Where large message bodies go, or null (a broker without a store keeps them in memory). */
    BlobStore blobs() {
        return server.broker().blobs();
    }

    long largeMessageThresholdBytes() {
        return server.config().largeMessageThresholdBytes();
    }

    DirectReplyTo directReplyTo() {
        return server.directReplyTo();
    }

    boolean consumerCancelNotify() {
        return consumerCancelNotify;
    }

    /** Thread-safe: whether the socket's outbound buffer is below its high watermark. */
    boolean isWritable() {
        ChannelHandlerContext c = ctx;
        return c != null && c.channel().isWritable();
    }

    /** Thread-safe: runs {@code task} on this connection's event loop. */
    void execute(Runnable task) {
        try {
            ctx.executor().execute(task);
        } catch (RejectedExecutionException e) {
            LOG.debug("event loop shut down; dropping task for {}", this);
        }
    }

    // ---------------------------------------------------------------- Netty events

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        name = name((InetSocketAddress) ctx.channel().remoteAddress(), (InetSocketAddress)
                ctx.channel().localAddress());
        server.connections().add(this);
        handshakeTimeout = ctx.executor()
                .schedule(
                        () -> {
                            if (state.compareTo(State.OPEN) < 0) {
                                LOG.info(
                                        "closing connection from {}: handshake not completed within {} ms",
                                        remote(),
                                        server.config().handshakeTimeoutMs());
                                ctx.close();
                            }
                        },
                        server.config().handshakeTimeoutMs(),
                        TimeUnit.MILLISECONDS);
        ctx.fireChannelActive();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (state != State.CLOSING && state != State.CLOSED && state.compareTo(State.AWAITING_OPEN) > 0) {
            LOG.info("client {} ({}) closed the connection without connection.close", remote(), clientName);
        }
        state = State.CLOSED;
        cleanup();
        ctx.fireChannelInactive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof AmqpFrameDecoder.ProtocolHeaderReceived) {
            onProtocolHeader();
        } else if (msg instanceof AmqpFrameDecoder.FrameError error) {
            frameError(error);
        } else if (msg instanceof Frame frame) {
            onFrame(frame);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        for (int i = 0, n = channelList.size(); i < n; i++) {
            channelList.get(i).flushConfirms();
        }
        ctx.flush();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (ctx.channel().isWritable()) {
            for (int i = 0, n = channelList.size(); i < n; i++) {
                channelList.get(i).wakeConsumers();
            }
        }
        ctx.fireChannelWritabilityChanged();
    }

    /** Sends a heartbeat every half interval, as RabbitMQ does, whether or not other frames flow. */
    private void sendHeartbeat() {
        if (state == State.OPEN) {
            ByteBuf heartbeat = ctx.alloc().buffer(8);
            FrameWriter.writeHeartbeat(heartbeat);
            ctx.writeAndFlush(heartbeat, ctx.voidPromise());
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
        if (event instanceof IdleStateEvent idle) {
            if (idle.state() == IdleState.READER_IDLE) {
                LOG.warn("missed heartbeats from client {} ({}); closing the connection", remote(), clientName);
                ctx.close();
            }
        } else {
            ctx.fireUserEventTriggered(event);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof java.io.IOException) {
            LOG.debug("connection {} failed: {}", remote(), cause.toString());
        } else {
            LOG.error("unexpected error on connection {}", remote(), cause);
        }
        ctx.close();
    }

    // ---------------------------------------------------------------- handshake

    private void onProtocolHeader() {
        state = State.AWAITING_START_OK;
        certificateUser = verifiedCertificateCommonName();
        String mechanisms = certificateUser == null ? Authenticator.MECHANISMS : "EXTERNAL " + Authenticator.MECHANISMS;
        writeMethod(0, new Amqp.Connection.Start(0, 9, ServerProperties.create(), mechanisms, "en_US"));
        ctx.flush();
    }

    private void onFrame(Frame frame) {
        if (frame instanceof HeartbeatFrame) {
            return;
        }
        int channelId = frame.channel();
        if (state == State.CLOSING || state == State.CLOSED) {
            if (frame instanceof MethodFrame mf && channelId == 0) {
                if (mf.method() instanceof Amqp.Connection.CloseOk || mf.method() instanceof Amqp.Connection.Close) {
                    if (mf.method() instanceof Amqp.Connection.Close) {
                        writeMethod(0, new Amqp.Connection.CloseOk());
                    }
                    ctx.writeAndFlush(ctx.alloc().buffer(0)).addListener(ChannelFutureListener.CLOSE);
                }
            }
            Frames.release(frame);
            return;
        }
        if (channelId == 0) {
            if (!(frame instanceof MethodFrame mf)) {
                Frames.release(frame);
                connectionError(UNEXPECTED_FRAME, "content frame on channel 0", 0, 0);
                return;
            }
            onConnectionMethod(mf.method());
            return;
        }
        if (state != State.OPEN) {
            Frames.release(frame);
            connectionError(CHANNEL_ERROR, "channel " + channelId + " used before connection.open", 0, 0);
            return;
        }
        AmqpChannel channel = channels.get(channelId);
        if (channel == null) {
            onFrameForUnopenedChannel(channelId, frame);
            return;
        }
        if (frame instanceof MethodFrame mf && mf.method() instanceof Amqp.Channel.Open) {
            connectionError(CHANNEL_ERROR, "second 'channel.open' seen", 20, 10);
            return;
        }
        channel.onFrame(frame);
    }

    private void onFrameForUnopenedChannel(int channelId, Frame frame) {
        if (frame instanceof MethodFrame mf && mf.method() instanceof Amqp.Channel.Open) {
            if (channelId > channelMax && channelMax != 0) {
                connectionError(
                        NOT_ALLOWED,
                        "channel " + channelId + " exceeds the negotiated channel_max " + channelMax,
                        20,
                        10);
                return;
            }
            AmqpChannel channel = new AmqpChannel(this, channelId, vhost);
            channels.put(channelId, channel);
            channelList.add(channel);
            server.openChannels().incrementAndGet();
            writeMethod(channelId, new Amqp.Channel.OpenOk(""));
            return;
        }
        Frames.release(frame);
        if (frame instanceof MethodFrame mf && mf.method() instanceof Amqp.Channel.CloseOk) {
            return; // a close-ok for a channel we already let go of
        }
        connectionError(CHANNEL_ERROR, "expected 'channel.open' on channel " + channelId, 0, 0);
    }

    private void onConnectionMethod(Method method) {
        switch (state) {
            case AWAITING_START_OK -> {
                if (method instanceof Amqp.Connection.StartOk startOk) {
                    onStartOk(startOk);
                } else {
                    handshakeViolation(method, "connection.start-ok");
                }
            }
            case AWAITING_TUNE_OK -> {
                if (method instanceof Amqp.Connection.TuneOk tuneOk) {
                    onTuneOk(tuneOk);
                } else {
                    handshakeViolation(method, "connection.tune-ok");
                }
            }
            case AWAITING_OPEN -> {
                if (method instanceof Amqp.Connection.Open open) {
                    onOpen(open);
                } else {
                    handshakeViolation(method, "connection.open");
                }
            }
            case OPEN -> onOpenConnectionMethod(method);
            default -> handshakeViolation(method, "the protocol header");
        }
    }

    private void handshakeViolation(Method method, String expected) {
        connectionError(
                COMMAND_INVALID,
                "expected " + expected + ", got " + method.protocolName(),
                method.protocolClassId(),
                method.protocolMethodId());
    }

    @SuppressWarnings("unchecked")
    private void onStartOk(Amqp.Connection.StartOk startOk) {
        Map<String, Object> clientProperties = startOk.clientProperties();
        this.clientProperties = clientProperties;
        Object capabilities = clientProperties.get("capabilities");
        if (capabilities instanceof Map<?, ?> caps) {
            Map<String, Object> c = (Map<String, Object>) caps;
            consumerCancelNotify = Boolean.TRUE.equals(c.get("consumer_cancel_notify"));
            authenticationFailureClose = Boolean.TRUE.equals(c.get("authentication_failure_close"));
            blockedNotify = Boolean.TRUE.equals(c.get("connection.blocked"));
        }
        Object name = clientProperties.get("connection_name");
        Object product = clientProperties.get("product");
        clientName = name != null ? name.toString() : product != null ? product.toString() : "";
        try {
            user = server.authenticator()
                    .authenticate(startOk.mechanism(), startOk.response(), remote(), certificateUser);
            nodeLink = startOk.mechanism().equals(Authenticator.NODE_MECHANISM);
        } catch (Authenticator.LoginRefused e) {
            LOG.warn("{} login refused for connection from {}: {}", startOk.mechanism(), remote(), e.logText());
            if (authenticationFailureClose) {
                connectionError(ACCESS_REFUSED, e.getMessage(), 10, 11);
            } else {
                ctx.close();
            }
            return;
        }
        state = State.AWAITING_TUNE_OK;
        writeMethod(
                0,
                new Amqp.Connection.Tune(
                        server.config().channelMax(),
                        server.config().frameMaxBytes(),
                        server.config().heartbeatSeconds()));
        ctx.flush();
    }

    private void onTuneOk(Amqp.Connection.TuneOk tuneOk) {
        int offeredFrameMax = server.config().frameMaxBytes();
        int requestedFrameMax = tuneOk.frameMax();
        if (requestedFrameMax != 0 && requestedFrameMax < AmqpConstants.FRAME_MIN_SIZE) {
            connectionError(
                    NOT_ALLOWED,
                    "frame_max=" + requestedFrameMax + " < " + AmqpConstants.FRAME_MIN_SIZE + " min size",
                    10,
                    31);
            return;
        }
        if (offeredFrameMax != 0 && (requestedFrameMax == 0 || requestedFrameMax > offeredFrameMax)) {
            connectionError(
                    NOT_ALLOWED, "frame_max=" + requestedFrameMax + " > " + offeredFrameMax + " max size", 10, 31);
            return;
        }
        int offeredChannelMax = server.config().channelMax();
        int requestedChannelMax = tuneOk.channelMax();
        if (offeredChannelMax != 0 && (requestedChannelMax == 0 || requestedChannelMax > offeredChannelMax)) {
            connectionError(
                    NOT_ALLOWED, "channel_max=" + requestedChannelMax + " > " + offeredChannelMax + " max", 10, 31);
            return;
        }
        frameMax = requestedFrameMax;
        channelMax = requestedChannelMax;
        decoder.maxFrameSizeBytes(frameMax);
        int heartbeat = tuneOk.heartbeat();
        heartbeatSeconds = heartbeat;
        if (heartbeat > 0) {
            // give up after two silent intervals, as RabbitMQ does; only reads are watched, so the
            // handler adds no listener to every write on the delivery path
            ctx.pipeline()
                    .addBefore(ctx.name(), "heartbeat", new IdleStateHandler(heartbeat * 2L, 0, 0, TimeUnit.SECONDS));
            long intervalMs = Math.max(500, heartbeat * 1000L / 2);
            heartbeatSender = ctx.executor()
                    .scheduleAtFixedRate(this::sendHeartbeat, intervalMs, intervalMs, TimeUnit.MILLISECONDS);
        }
        state = State.AWAITING_OPEN;
    }

    private void onOpen(Amqp.Connection.Open open) {
        VirtualHost host = server.broker().vhost(open.virtualHost());
        if (host == null) {
            connectionError(NOT_ALLOWED, "vhost '" + open.virtualHost() + "' not found", 10, 40);
            return;
        }
        Permission access = nodeLink
                ? new Permission(user, host.name(), Permission.ALL, Permission.ALL, Permission.ALL)
                : server.authenticator().users().permission(host.name(), user);
        if (access == null) {
            LOG.warn("user '{}' from {} has no permissions on vhost '{}'", user, remote(), host.name());
            connectionError(
                    NOT_ALLOWED, "access to vhost '" + host.name() + "' refused for user '" + user + "'", 10, 40);
            return;
        }
        int maxConnections = server.config().maxConnections();
        // another node's link is not a client: a node at its limit still serves its queues to the cluster
        if (!nodeLink && maxConnections > 0 && ManagedConnection.clients(server.connections()) > maxConnections) {
            LOG.warn("connection from {} refused: connection limit ({}) reached", remote(), maxConnections);
            connectionError(
                    NOT_ALLOWED,
                    "access to vhost '" + host.name() + "' refused for user '" + user + "': connection limit ("
                            + maxConnections + ") is reached",
                    10,
                    40);
            return;
        }
        permission = access;
        vhost = host;
        state = State.OPEN;
        handshakeTimeout.cancel(false);
        writeMethod(0, new Amqp.Connection.OpenOk(""));
        LOG.info("accepted connection {} ({}): user '{}', vhost '{}'", name, clientName, user, host.name());
    }

    private void onOpenConnectionMethod(Method method) {
        if (method instanceof Amqp.Connection.Close) {
            state = State.CLOSING;
            releaseChannels();
            writeMethod(0, new Amqp.Connection.CloseOk());
            ctx.writeAndFlush(ctx.alloc().buffer(0)).addListener(ChannelFutureListener.CLOSE);
        } else if (method instanceof Amqp.Connection.UpdateSecret) {
            writeMethod(0, new Amqp.Connection.UpdateSecretOk());
        } else if (method instanceof Amqp.Connection.Blocked || method instanceof Amqp.Connection.Unblocked) {
            // clients may tell us they are blocked; nothing to do
        } else {
            connectionError(
                    COMMAND_INVALID,
                    "method " + method.protocolName() + " is not valid on channel 0",
                    method.protocolClassId(),
                    method.protocolMethodId());
        }
    }

    // ---------------------------------------------------------------- errors and closing

    private void frameError(AmqpFrameDecoder.FrameError error) {
        var cause = error.cause();
        LOG.warn("closing connection from {}: {} {}", remote(), cause.replyCode(), cause.getMessage());
        if (state.compareTo(State.CLOSING) >= 0) {
            ctx.close();
            return;
        }
        writeMethod(
                0,
                new Amqp.Connection.Close(
                        cause.replyCode(),
                        AmqpConstants.closeText(cause.replyCode(), cause.getMessage()),
                        cause.classId(),
                        cause.methodId()));
        state = State.CLOSING;
        releaseChannels();
        // nothing more can be read from this stream, so there is no close-ok to wait for
        ctx.writeAndFlush(ctx.alloc().buffer(0)).addListener(ChannelFutureListener.CLOSE);
    }

    /** Closes the connection with a hard error: connection.close, then wait briefly for close-ok. */
    void connectionError(int replyCode, String text, int classId, int methodId) {
        if (state == State.CLOSING || state == State.CLOSED) {
            return;
        }
        LOG.warn("closing connection from {} ({}): {} {}", remote(), clientName, replyCode, text);
        writeMethod(
                0, new Amqp.Connection.Close(replyCode, AmqpConstants.closeText(replyCode, text), classId, methodId));
        ctx.flush();
        state = State.CLOSING;
        releaseChannels();
        ctx.executor().schedule(() -> ctx.close(), CLOSE_OK_TIMEOUT_MS, TimeUnit.MILLISECONDS);
    }

    /** An unexpected exception: logged with its stack trace, and the connection closed with 541. */
    void internalError(String where, Throwable cause) {
        LOG.error("internal error in {} of connection {}", where, remote(), cause);
        connectionError(INTERNAL_ERROR, "internal error in " + where + ": " + cause, 0, 0);
    }

    void removeChannel(int channelId) {
        AmqpChannel channel = channels.remove(channelId);
        if (channel != null) {
            server.openChannels().decrementAndGet();
        }
        if (channel != null) {
            channelList.remove(channel);
            channel.release();
        }
    }

    private void releaseChannels() {
        for (AmqpChannel channel : new ArrayList<>(channelList)) {
            channel.release();
        }
    }

    private void cleanup() {
        if (handshakeTimeout != null) {
            handshakeTimeout.cancel(false);
        }
        if (heartbeatSender != null) {
            heartbeatSender.cancel(false);
        }
        releaseChannels();
        server.openChannels().addAndGet(-channels.size());
        channels.clear();
        channelList.clear();
        if (vhost != null) {
            vhost.onConnectionClosed(this);
            LOG.info("closed connection {} ({}) of user '{}'", name, clientName, user);
        }
        server.connections().remove(this);
    }

    // ---------------------------------------------------------------- publish back-pressure

    /** Event loop: counts bytes handed to queue actors; stops reading the socket above the watermark. */
    void chargePublish(long bytes) {
        if (publishBytesInFlight.addAndGet(bytes) > PUBLISH_HIGH_WATERMARK_BYTES
                && readSuspended.compareAndSet(false, true)) {
            updateAutoRead();
        }
        String alarm = server.alarm().get();
        if (alarm != null && !blockedByAlarm) {
            // RabbitMQ's behaviour: a connection is blocked once it publishes during an alarm
            blockedByAlarm = true;
            if (blockedNotify) {
                writeMethod(0, new Amqp.Connection.Blocked(alarm));
            }
            updateAutoRead();
        }
    }

    /** Thread-safe: queue actors give back the charge once they took the message. */
    void releasePublishCharge(long bytes) {
        if (publishBytesInFlight.addAndGet(-bytes) <= PUBLISH_LOW_WATERMARK_BYTES && readSuspended.get()) {
            execute(() -> {
                if (publishBytesInFlight.get() <= PUBLISH_LOW_WATERMARK_BYTES
                        && readSuspended.compareAndSet(true, false)) {
                    updateAutoRead();
                }
            });
        }
    }

    /** Thread-safe: the resource alarm cleared; a blocked connection is unblocked. */
    void onAlarmCleared() {
        execute(() -> {
            if (blockedByAlarm && server.alarm().get() == null) {
                blockedByAlarm = false;
                if (blockedNotify && state == State.OPEN) {
                    writeMethod(0, new Amqp.Connection.Unblocked());
                    ctx.flush();
                }
                updateAutoRead();
            }
        });
    }

    private void updateAutoRead() {
        ctx.channel().config().setAutoRead(!readSuspended.get() && !blockedByAlarm && !blobWritesBehind.get());
    }

    /**
     * Bounds the large-message body bytes waiting for the blob writer to a few frames: reading
     * pauses above {@link #BLOB_HIGH_WATERMARK_BYTES} and resumes once the writer is down to
     * {@link #BLOB_LOW_WATERMARK_BYTES}, so a client faster than the disk is slowed, not buffered.
     */
    ContentAssembler.WriteBacklog blobWriteBacklog() {
        return new ContentAssembler.WriteBacklog() {
            @Override
            public void handedOver(long bytes) { // event loop
                if (blobBytesBehind.addAndGet(bytes) > BLOB_HIGH_WATERMARK_BYTES
                        && blobWritesBehind.compareAndSet(false, true)) {
                    updateAutoRead();
                    // the writer may have caught up before the flag was set, and not seen it
                    resumeIfBlobWriterCaughtUp();
                }
            }

            @Override
            public void written(long bytes) { // blob writer thread
                if (blobBytesBehind.addAndGet(-bytes) <= BLOB_LOW_WATERMARK_BYTES && blobWritesBehind.get()) {
                    execute(AmqpConnection.this::resumeIfBlobWriterCaughtUp);
                }
            }
        };
    }

    private void resumeIfBlobWriterCaughtUp() {
        if (blobBytesBehind.get() <= BLOB_LOW_WATERMARK_BYTES && blobWritesBehind.compareAndSet(true, false)) {
            updateAutoRead();
        }
    }

    // ---------------------------------------------------------------- writing

    void writeMethod(int channelId, Method method) {
        ByteBuf buffer = ctx.alloc().buffer();
        FrameWriter.writeMethod(buffer, channelId, method);
        ctx.write(buffer, ctx.voidPromise());
    }

    void writeContent(int channelId, Method method, ByteBuf properties, ByteBuf body) {
        ctx.write(
                FrameWriter.encodeContent(ctx.alloc(), channelId, method, properties, body, frameMax),
                ctx.voidPromise());
    }

    /**
     * Writes a delivery (basic.deliver, basic.get-ok, basic.return) of {@code message}; the caller
     * keeps its reference. A large message's body is streamed from its blob one frame at a time,
     * as the socket drains (see {@link BlobBodyFrames}); everything written after it waits behind
     * it, in order.
     */
    void writeContent(int channelId, Method method, Message message) {
        if (!message.isLarge()) {
            writeContent(channelId, method, message.rawProperties(), message.body());
            return;
        }
        ByteBuf head = ctx.alloc().buffer(64 + message.rawProperties().readableBytes());
        FrameWriter.writeMethod(head, channelId, method);
        FrameWriter.writeHeader(head, channelId, message.bodySize(), message.rawProperties());
        if (ctx.pipeline().get(ChunkedWriteHandler.class) == null) {
            // added on the first large delivery only: plain writes pay nothing for it until then;
            // writes already made went past this point, so order is kept
            ctx.pipeline().addBefore(ctx.name(), "chunked", new ChunkedWriteHandler());
        }
        ctx.write(head, ctx.voidPromise());
        ChannelPromise streamed = ctx.newPromise();
        streamed.addListener(future -> {
            if (!future.isSuccess() && ctx.channel().isActive()) {
                // the frames written so far announced a body that will not come: the stream is broken
                LOG.error("connection {}: cannot stream a large message body; closing", name, future.cause());
                ctx.close();
            }
        });
        ctx.write(new BlobBodyFrames(message.largeBody(), channelId, frameMax), streamed);
    }

    void flush() {
        ctx.flush();
    }

    PendingConfirms.Sink confirmSink(int channelId) {
        return new PendingConfirms.Sink() {
            @Override
            public void ack(long deliveryTag, boolean multiple) {
                writeMethod(channelId, new Amqp.Basic.Ack(deliveryTag, multiple));
            }

            @Override
            public void nack(long deliveryTag, boolean multiple) {
                writeMethod(channelId, new Amqp.Basic.Nack(deliveryTag, multiple, false));
            }
        };
    }

    /**
     * A snapshot for the management API, taken on the event loop; completes with null when the
     * connection is not open (still in the handshake, or closing).
     */
    @Override
    public CompletableFuture<ConnectionInfo> describe() {
        CompletableFuture<ConnectionInfo> result = new CompletableFuture<>();
        ChannelHandlerContext c = ctx;
        if (c == null) {
            result.complete(null);
            return result;
        }
        try {
            c.executor().execute(() -> result.complete(state == State.OPEN ? snapshot() : null));
        } catch (RejectedExecutionException e) {
            result.complete(null);
        }
        return result;
    }

    private ConnectionInfo snapshot() {
        InetSocketAddress peer = (InetSocketAddress) ctx.channel().remoteAddress();
        InetSocketAddress local = (InetSocketAddress) ctx.channel().localAddress();
        List<ConnectionInfo.ChannelInfo> channelInfos = new ArrayList<>(channelList.size());
        for (AmqpChannel channel : channelList) {
            channelInfos.add(channel.describe());
        }
        return new ConnectionInfo(
                name,
                user,
                vhost.name(),
                peer.getAddress().getHostAddress(),
                peer.getPort(),
                local.getAddress().getHostAddress(),
                local.getPort(),
                clientProperties,
                connectedAtMs,
                channelMax,
                frameMax,
                heartbeatSeconds,
                blockedByAlarm,
                channelInfos);
    }

    /** RabbitMQ's connection name: {@code "127.0.0.1:54321 -> 127.0.0.1:5672"}. */
    static String name(InetSocketAddress peer, InetSocketAddress local) {
        return peer.getAddress().getHostAddress() + ":" + peer.getPort() + " -> "
                + local.getAddress().getHostAddress() + ":" + local.getPort();
    }

    io.micrometer.core.instrument.Timer confirmLatency() {
        return server.confirmLatency();
    }

    int consumerMaxPerChannel() {
        return server.config().consumerMaxPerChannel();
    }

    /** The CN of the client certificate TLS verified on this connection, or null (no TLS, no certificate). */
    private String verifiedCertificateCommonName() {
        SslHandler tls = ctx.pipeline().get(SslHandler.class);
        if (tls == null) {
            return null;
        }
        try {
            java.security.cert.Certificate[] chain = tls.engine().getSession().getPeerCertificates();
            if (chain.length == 0 || !(chain[0] instanceof X509Certificate certificate)) {
                return null;
            }
            for (Rdn rdn : new LdapName(certificate.getSubjectX500Principal().getName()).getRdns()) {
                if (rdn.getType().equalsIgnoreCase("CN")) {
                    return rdn.getValue().toString();
                }
            }
            return null;
        } catch (SSLPeerUnverifiedException | InvalidNameException e) {
            return null;
        }
    }

    @Override
    public boolean nodeLink() {
        return nodeLink;
    }

    /** The user's permissions in this connection's vhost, as they were when it opened; event loop only. */
    Permission permission() {
        return permission;
    }

    /** RabbitMQ's name for this connection, {@code "peer -> local"}; thread-safe. */
    @Override
    public String name() {
        return name;
    }

    /** Thread-safe: closes the connection with 320 CONNECTION_FORCED, as an operator asked. */
    @Override
    public void forceClose(String reason) {
        execute(() -> {
            if (state == State.AWAITING_HEADER) {
                ctx.close(); // no AMQP spoken yet: a connection.close would be noise to the peer
            } else {
                connectionError(CONNECTION_FORCED, reason, 0, 0);
            }
        });
    }

    SocketAddress remote() {
        return ctx == null ? null : ctx.channel().remoteAddress();
    }

    @Override
    public String toString() {
        return "AmqpConnection[" + remote() + ", " + clientName + "]";
    }
}
