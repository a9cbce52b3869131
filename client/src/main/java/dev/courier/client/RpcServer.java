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
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The responding side of request/response: consumes a queue, runs the {@link Handler} for each
 * request, publishes the result to the request's {@code reply_to} with its {@code correlation_id},
 * and then acks the request. Works with {@link RpcClient} and with any client that sets those two
 * properties (including direct reply-to addresses).
 *
 * <p>When the handler throws, the reply carries the failure's description in the {@value
 * #ERROR_HEADER} header and an empty body, so the caller fails fast instead of timing out; the
 * request is acked, not retried. A request without {@code reply_to} is handled and acked with no
 * reply.
 *
 * <p>Requests are handled one at a time, on the dispatch thread of this server's channel; start
 * several servers on one queue for parallelism.
 */
public final class RpcServer implements AutoCloseable {
    /** Header of a reply whose request failed; its value describes the failure. */
    public static final String ERROR_HEADER = "x-rpc-error";

    private static final Logger LOG = LoggerFactory.getLogger(RpcServer.class);

    /** Computes the reply's body for a request. */
    @FunctionalInterface
    public interface Handler {
        byte[] handle(Delivery request) throws Exception;
    }

    private final Channel channel;
    private final Handler handler;
    private final String consumerTag;
    private final CountDownLatch stopped = new CountDownLatch(1);

    private RpcServer(Connection connection, String queue, int prefetch, Handler handler) throws IOException {
        this.handler = Objects.requireNonNull(handler, "handler");
        this.channel = connection.createChannel();
        try {
            channel.basicQos(prefetch);
            this.consumerTag = channel.basicConsume(queue, false, new DefaultConsumer(channel) {
                @Override
                public void handleDelivery(String tag, Envelope envelope, AMQP.BasicProperties properties, byte[] body)
                        throws IOException {
                    onRequest(new Delivery(envelope, properties, body));
                }

                @Override
                public void handleCancelOk(String tag) {
                    stopped.countDown();
                }

                @Override
                public void handleCancel(String tag) {
                    stopped.countDown();
                }

                @Override
                public void handleShutdownSignal(String tag, ShutdownSignalException signal) {
                    stopped.countDown();
                }
            });
        } catch (IOException | RuntimeException e) {
            closeChannel();
            throw e;
        }
    }

    /** Serves requests from {@code queue} on a channel of its own, with the given prefetch. */
    public static RpcServer start(Connection connection, String queue, int prefetch, Handler handler)
            throws IOException {
        return new RpcServer(connection, queue, prefetch, handler);
    }

    private void onRequest(Delivery request) throws IOException {
        AMQP.BasicProperties props = request.getProperties();
        byte[] body;
        AMQP.BasicProperties.Builder reply = new AMQP.BasicProperties.Builder().correlationId(props.getCorrelationId());
        try {
            body = handler.handle(request);
            if (body == null) {
                body = new byte[0];
            }
        } catch (Exception e) {
            LOG.warn("RPC handler failed for request {}", props.getCorrelationId(), e);
            String description = e.getMessage() == null
                    ? e.getClass().getName()
                    : e.getClass().getSimpleName() + ": " + e.getMessage();
            reply.headers(Map.of(ERROR_HEADER, description));
            body = new byte[0];
        }
        if (props.getReplyTo() != null && !props.getReplyTo().isEmpty()) {
            channel.basicPublish("", props.getReplyTo(), reply.build(), body);
        }
        channel.basicAck(request.getEnvelope().getDeliveryTag(), false);
    }

    /**
     * Stops taking requests, finishes those already received (up to {@code timeout}), and closes
     * the channel. Returns true when all finished in time.
     */
    public boolean close(Duration timeout) {
        boolean drained = false;
        try {
            if (channel.isOpen()) {
                channel.basicCancel(consumerTag);
            }
            drained = stopped.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException | ShutdownSignalException e) {
            LOG.debug("cancelling the RPC server failed: {}", e.toString());
        } finally {
            closeChannel();
        }
        return drained;
    }

    /** {@link #close(Duration)} with a 30 s timeout. */
    @Override
    public void close() {
        close(Duration.ofSeconds(30));
    }

    private void closeChannel() {
        try {
            if (channel.isOpen()) {
                channel.close();
            }
        } catch (IOException | TimeoutException | ShutdownSignalException e) {
            LOG.debug("closing the RPC server channel failed: {}", e.toString());
        }
    }
}
