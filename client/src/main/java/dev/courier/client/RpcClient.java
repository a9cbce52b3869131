package dev.courier.client;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.DefaultConsumer;
import com.rabbitmq.client.Delivery;
import com.rabbitmq.client.Envelope;
import com.rabbitmq.client.ShutdownSignalException;
import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The requesting side of request/response, over direct reply-to: replies come straight back to
 * this client's channel through the pseudo-queue {@value #DIRECT_REPLY_TO}, with no reply queue
 * to declare or clean up. Each request gets a fresh correlation id and a timeout.
 *
 * <p>A request is published mandatory, so one that no queue receives fails at once with {@link
 * UnroutableMessageException} instead of timing out. A reply carrying the {@link
 * RpcServer#ERROR_HEADER} header fails the call with {@link RpcRemoteException}. When the channel
 * or connection closes, every pending call fails with an {@link IOException}.
 *
 * <p>Thread-safe: any thread may call. Futures complete on the connection's consumer dispatch
 * thread; dependent stages that block should use the {@code *Async} variants, or replies to this
 * client stall behind them.
 */
public final class RpcClient implements AutoCloseable {
    /** RabbitMQ's pseudo-queue for direct reply-to. */
    public static final String DIRECT_REPLY_TO = "amq.rabbitmq.reply-to";

    private static final Logger LOG = LoggerFactory.getLogger(RpcClient.class);

    // one timer thread for every client; a cancelled timer is dropped at once, not at its deadline
    private static final ScheduledThreadPoolExecutor TIMEOUTS = timeoutScheduler();

    private final Channel channel;
    private final String exchange;
    private final String routingKey;
    private final Duration defaultTimeout;
    private final Map<String, CompletableFuture<Delivery>> pending = new ConcurrentHashMap<>();
    private final String idPrefix = UUID.randomUUID().toString();
    private final AtomicLong nextId = new AtomicLong();
    private final Object publishLock = new Object();

    private RpcClient(Connection connection, String exchange, String routingKey, Duration defaultTimeout)
            throws IOException {
        this.exchange = Objects.requireNonNull(exchange, "exchange");
        this.routingKey = Objects.requireNonNull(routingKey, "routingKey");
        this.defaultTimeout = Objects.requireNonNull(defaultTimeout, "defaultTimeout");
        this.channel = connection.createChannel();
        try {
            channel.addReturnListener(returned -> {
                CompletableFuture<Delivery> call =
                        pending.remove(returned.getProperties().getCorrelationId());
                if (call != null) {
                    call.completeExceptionally(new UnroutableMessageException(
                            returned.getReplyCode(),
                            returned.getReplyText(),
                            returned.getExchange(),
                            returned.getRoutingKey()));
                }
            });
            channel.addShutdownListener(this::failAll);
            // 0-9-1 direct reply-to: consume (no-ack) before the first request names the pseudo-queue
            channel.basicConsume(DIRECT_REPLY_TO, true, new DefaultConsumer(channel) {
                @Override
                public void handleDelivery(
                        String tag, Envelope envelope, AMQP.BasicProperties properties, byte[] body) {
                    onReply(new Delivery(envelope, properties, body));
                }
            });
        } catch (IOException | RuntimeException e) {
            closeChannel();
            throw e;
        }
    }

    /**
     * A client that sends requests to {@code exchange} with {@code routingKey} (for a queue: {@code
     * ""} and the queue's name) on a channel of its own on {@code connection}.
     */
    public static RpcClient create(Connection connection, String exchange, String routingKey, Duration defaultTimeout)
            throws IOException {
        return new RpcClient(connection, exchange, routingKey, defaultTimeout);
    }

    /** Sends a request and waits for the reply's body, up to the default timeout. */
    public byte[] call(byte[] body) throws IOException, TimeoutException, InterruptedException {
        return call(null, body, defaultTimeout).getBody();
    }

    /**
     * Sends a request and waits for the reply.
     *
     * @throws RpcTimeoutException when no reply came in time
     * @throws RpcRemoteException when the server's handler failed
     * @throws UnroutableMessageException when no queue took the request
     * @throws IOException when the channel or connection closed
     */
    public Delivery call(AMQP.BasicProperties props, byte[] body, Duration timeout)
            throws IOException, TimeoutException, InterruptedException {
        try {
            return callAsync(props, body, timeout).get();
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof IOException io) {
                throw io;
            }
            if (cause instanceof TimeoutException timeoutException) {
                throw timeoutException;
            }
            throw new IOException("request failed", cause);
        }
    }

    /** Sends a request with the default timeout; the future completes with the reply's body. */
    public CompletableFuture<byte[]> callAsync(byte[] body) {
        return callAsync(null, body, defaultTimeout).thenApply(Delivery::getBody);
    }

    /**
     * Sends a request; the future completes with the reply, or fails with the exceptions {@link
     * #call(AMQP.BasicProperties, byte[], Duration)} names. {@code props} may be null; its reply-to
     * and correlation id are replaced.
     */
    public CompletableFuture<Delivery> callAsync(AMQP.BasicProperties props, byte[] body, Duration timeout) {
        String correlationId = idPrefix + "-" + nextId.incrementAndGet();
        AMQP.BasicProperties request = (props == null ? new AMQP.BasicProperties() : props)
                .builder()
                .correlationId(correlationId)
                .replyTo(DIRECT_REPLY_TO)
                .build();
        CompletableFuture<Delivery> call = new CompletableFuture<>();
        pending.put(correlationId, call);
        ScheduledFuture<?> timer = TIMEOUTS.schedule(
                () -> call.completeExceptionally(new RpcTimeoutException(
                        correlationId,
                        "no reply within " + timeout.toMillis() + " ms to request " + correlationId + " sent to '"
                                + exchange + "' with routing key '" + routingKey + "'")),
                timeout.toMillis(),
                TimeUnit.MILLISECONDS);
        call.whenComplete((reply, failure) -> {
            pending.remove(correlationId);
            timer.cancel(false);
        });
        try {
            // a channel must not interleave the frames of two publishes
            synchronized (publishLock) {
                channel.basicPublish(exchange, routingKey, true, request, body);
            }
        } catch (IOException | ShutdownSignalException e) {
            call.completeExceptionally(e instanceof IOException ? e : new IOException(e.getMessage(), e));
        }
        return call;
    }

    /** Number of requests waiting for a reply. */
    public int pendingCount() {
        return pending.size();
    }

    private void onReply(Delivery reply) {
        String correlationId = reply.getProperties().getCorrelationId();
        CompletableFuture<Delivery> call = correlationId == null ? null : pending.remove(correlationId);
        if (call == null) {
            LOG.debug("dropping a reply with unknown correlation id {} (timed out?)", correlationId);
            return;
        }
        Map<String, Object> headers = reply.getProperties().getHeaders();
        Object error = headers == null ? null : headers.get(RpcServer.ERROR_HEADER);
        if (error != null) {
            call.completeExceptionally(new RpcRemoteException(error.toString()));
        } else {
            call.complete(reply);
        }
    }

    private void failAll(ShutdownSignalException cause) {
        IOException failure = new IOException("RPC channel closed: " + cause.getMessage(), cause);
        pending.values().forEach(call -> call.completeExceptionally(failure));
    }

    private static ScheduledThreadPoolExecutor timeoutScheduler() {
        ScheduledThreadPoolExecutor scheduler = new ScheduledThreadPoolExecutor(1, task -> {
            Thread thread = new Thread(task, "courier-rpc-timeouts");
            thread.setDaemon(true);
            return thread;
        });
        scheduler.setRemoveOnCancelPolicy(true);
        return scheduler;
    }

    /** Closes the channel; pending calls fail. */
    @Override
    public void close() {
        closeChannel();
    }

    private void closeChannel() {
        try {
            if (channel.isOpen()) {
                channel.close();
            }
        } catch (IOException | TimeoutException | ShutdownSignalException e) {
            LOG.debug("closing the RPC channel failed: {}", e.toString());
        }
    }
}
