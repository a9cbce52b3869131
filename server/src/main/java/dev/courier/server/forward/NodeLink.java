package dev.courier.server.forward;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.DefaultConsumer;
import com.rabbitmq.client.Envelope;
import com.rabbitmq.client.GetResponse;
import com.rabbitmq.client.LongString;
import com.rabbitmq.client.SaslMechanism;
import com.rabbitmq.client.ShutdownSignalException;
import com.rabbitmq.client.impl.LongStringHelper;
import dev.courier.broker.AmqpException;
import dev.courier.broker.Message;
import dev.courier.broker.QueueDeclareOk;
import dev.courier.broker.QueueForwarder;
import dev.courier.server.amqp.Authenticator;
import dev.courier.server.amqp.ForwardedPublish;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentNavigableMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One AMQP connection from this node to another node's vhost, for its classic queues. A single
 * thread does everything that talks to it (connects, publishes, settles, declares), in the order
 * asked, so publishes to a queue keep their order and nothing here blocks an event loop;
 * deliveries arrive on the client library's threads. A broken connection is opened again on the
 * next call.
 */
final class NodeLink {
    private static final Logger LOG = LoggerFactory.getLogger(NodeLink.class);

    /** Bytes a content header's payload has before its property flags: class, weight, body size. */
    private static final int CONTENT_HEADER_PREFIX = 12;

    private final String nodeId;
    private final String node;
    private final String vhost;
    private final Function<String, InetSocketAddress> addresses;
    private final Supplier<byte[]> secret;
    private final ExecutorService worker;

    // worker thread only (volatile: after a minute idle, the next task may run on a new thread)
    private volatile Connection connection;
    private volatile PublishChannel publishing;
    private volatile Channel rpc;
    private volatile Channel gets;

    NodeLink(
            String nodeId,
            String node,
            String vhost,
            Function<String, InetSocketAddress> addresses,
            Supplier<byte[]> secret) {
        this.nodeId = nodeId;
        this.node = node;
        this.vhost = vhost;
        this.addresses = addresses;
        this.secret = secret;
        // one thread at most, in order; it ends after a minute without work (a vhost nobody uses any more)
        this.worker = new ThreadPoolExecutor(
                0,
                1,
                60,
                TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(),
                new DefaultThreadFactory("courier-forward-" + node, true));
    }

    /** A confirm-mode channel and its publishes waiting for a confirm, by sequence number. */
    private record PublishChannel(Channel channel, ConcurrentNavigableMap<Long, CompletableFuture<Boolean>> waiting) {}

    // ---------------------------------------------------------------- publish

    /**
     * Publishes {@code message} to the other node; {@code queue} names the queue it goes to there,
     * or is null for a direct reply-to reply (its routing key is the requester's address).
     */
    CompletableFuture<Boolean> publish(String queue, Message message) {
        CompletableFuture<Boolean> confirmed = new CompletableFuture<>();
        try {
            worker.execute(() -> {
                try {
                    PublishChannel target = publishing();
                    AMQP.BasicProperties properties = properties(message, queue);
                    byte[] body = body(message);
                    long seqNo = target.channel().getNextPublishSeqNo();
                    target.waiting().put(seqNo, confirmed);
                    target.channel().basicPublish(message.exchange(), message.routingKey(), false, properties, body);
                } catch (IOException | RuntimeException e) {
                    LOG.debug("cannot forward a message to queue '{}' on node '{}'", queue, node, e);
                    confirmed.complete(false);
                } finally {
                    message.release();
                }
            });
        } catch (RejectedExecutionException e) { // closed
            message.release();
            confirmed.complete(false);
        }
        return confirmed;
    }

    private PublishChannel publishing() throws IOException {
        if (publishing != null && publishing.channel().isOpen()) {
            return publishing;
        }
        Channel channel = connection().createChannel();
        channel.confirmSelect();
        ConcurrentNavigableMap<Long, CompletableFuture<Boolean>> waiting = new ConcurrentSkipListMap<>();
        channel.addConfirmListener(
                (seqNo, multiple) -> settle(waiting, seqNo, multiple, true),
                (seqNo, multiple) -> settle(waiting, seqNo, multiple, false));
        channel.addShutdownListener(
                cause -> { // what was not confirmed may or may not be there: nack it
                    waiting.values().forEach(future -> future.complete(false));
                    waiting.clear();
                });
        publishing = new PublishChannel(channel, waiting);
        return publishing;
    }

    private static void settle(
            ConcurrentNavigableMap<Long, CompletableFuture<Boolean>> waiting,
            long seqNo,
            boolean multiple,
            boolean taken) {
        if (multiple) {
            ConcurrentNavigableMap<Long, CompletableFuture<Boolean>> upTo = waiting.headMap(seqNo, true);
            upTo.values().forEach(future -> future.complete(taken));
            upTo.clear();
        } else {
            CompletableFuture<Boolean> future = waiting.remove(seqNo);
            if (future != null) {
                future.complete(taken);
            }
        }
    }

    /** The message's properties as the client library holds them, plus the header naming the queue (if any). */
    static AMQP.BasicProperties properties(Message message, String queue) throws IOException {
        ByteBuf raw = message.rawProperties();
        byte[] header = new byte[CONTENT_HEADER_PREFIX - 2 + raw.readableBytes()]; // weight, body size, flags...
        raw.getBytes(raw.readerIndex(), header, CONTENT_HEADER_PREFIX - 2, raw.readableBytes());
        AMQP.BasicProperties properties =
                new AMQP.BasicProperties(new DataInputStream(new ByteArrayInputStream(header)));
        if (queue == null) {
            return properties;
        }
        Map<String, Object> headers =
                properties.getHeaders() == null ? new HashMap<>() : new HashMap<>(properties.getHeaders());
        headers.put(ForwardedPublish.TARGET_HEADER, queue);
        return properties.builder().headers(headers).build();
    }

    private static byte[] body(Message message) throws IOException {
        if (!message.isLarge()) {
            return ByteBufUtil.getBytes(message.body());
        }
        ByteBuf body =
                message.largeBody().readAll(PooledByteBufAllocator.DEFAULT, 0, Math.toIntExact(message.bodySize()));
        try {
            return ByteBufUtil.getBytes(body);
        } finally {
            body.release();
        }
    }

    /** A message as this node's queues hold it, from what the other node delivered. */
    static Message message(Envelope envelope, AMQP.BasicProperties properties, byte[] body) throws IOException {
        byte[] payload = properties.toFrame(0, body.length).getPayload();
        return new Message(
                envelope.getExchange(),
                envelope.getRoutingKey(),
                Unpooled.wrappedBuffer(payload, CONTENT_HEADER_PREFIX, payload.length - CONTENT_HEADER_PREFIX),
                Unpooled.wrappedBuffer(body));
    }

    // ---------------------------------------------------------------- consume, get

    CompletableFuture<QueueForwarder.ForwardedConsumer> consume(
            QueueForwarder.Address queue,
            QueueForwarder.ConsumeSpec spec,
            QueueForwarder.ForwardedConsumer.Listener listener) {
        return call(queue, () -> {
            Channel channel = connection().createChannel();
            try {
                if (spec.window() > 0) {
                    channel.basicQos(spec.window());
                }
                RemoteConsumer consumer = new RemoteConsumer(channel, listener);
                Map<String, Object> arguments = spec.priority() == 0 ? Map.of() : Map.of("x-priority", spec.priority());
                channel.basicConsume(
                        queue.queue(),
                        false,
                        spec.consumerTag(),
                        false,
                        spec.exclusive(),
                        arguments,
                        consumer.callbacks);
                return consumer;
            } catch (IOException | RuntimeException e) {
                closeQuietly(channel);
                throw e;
            }
        });
    }

    CompletableFuture<QueueForwarder.ForwardedDelivery> get(QueueForwarder.Address queue, boolean autoAck) {
        return call(queue, () -> {
            if (gets == null || !gets.isOpen()) {
                gets = connection().createChannel();
            }
            Channel channel = gets;
            GetResponse response = channel.basicGet(queue.queue(), autoAck);
            if (response == null) {
                return null;
            }
            return new QueueForwarder.ForwardedDelivery(
                    autoAck ? null : new ChannelSettler(channel),
                    response.getEnvelope().getDeliveryTag(),
                    response.getEnvelope().isRedeliver(),
                    message(response.getEnvelope(), response.getProps(), response.getBody()),
                    response.getMessageCount());
        });
    }

    /** Settles the deliveries of one channel, on the worker; dropped once the channel is gone. */
    private class ChannelSettler implements QueueForwarder.Settler {
        final Channel channel;

        ChannelSettler(Channel channel) {
            this.channel = channel;
        }

        @Override
        public void ack(long tag) {
            onWorker(() -> {
                if (channel.isOpen()) {
                    channel.basicAck(tag, false);
                }
                settled();
            });
        }

        @Override
        public void reject(long tag, boolean requeue) {
            onWorker(() -> {
                if (channel.isOpen()) {
                    channel.basicReject(tag, requeue);
                }
                settled();
            });
        }

        void settled() {}
    }

    /**
     * A consumer on the other node, on a channel of its own (so its prefetch is its own). Once
     * cancelled, the channel closes when the last of its deliveries is settled.
     */
    private final class RemoteConsumer extends ChannelSettler implements QueueForwarder.ForwardedConsumer {
        private final QueueForwarder.ForwardedConsumer.Listener listener;
        final DefaultConsumer callbacks;
        private final AtomicInteger unsettled = new AtomicInteger();
        private volatile boolean cancelled;

        RemoteConsumer(Channel channel, QueueForwarder.ForwardedConsumer.Listener listener) {
            super(channel);
            this.listener = listener;
            this.callbacks = new DefaultConsumer(channel) {
                @Override
                public void handleDelivery(
                        String consumerTag, Envelope envelope, AMQP.BasicProperties properties, byte[] body)
                        throws IOException {
                    unsettled.incrementAndGet();
                    listener.onDelivery(new QueueForwarder.ForwardedDelivery(
                            RemoteConsumer.this,
                            envelope.getDeliveryTag(),
                            envelope.isRedeliver(),
                            message(envelope, properties, body),
                            -1));
                }

                @Override
                public void handleCancel(String consumerTag) {
                    cancelled = true;
                    listener.onCancelled();
                    onWorker(() -> closeQuietly(channel));
                }

                @Override
                public void handleShutdownSignal(String consumerTag, ShutdownSignalException signal) {
                    if (!cancelled) {
                        listener.onCancelled();
                    }
                }
            };
        }

        @Override
        public void cancel() {
            cancelled = true;
            onWorker(() -> {
                if (channel.isOpen()) {
                    String tag = callbacks.getConsumerTag();
                    if (tag != null) {
                        channel.basicCancel(tag);
                    }
                }
                if (unsettled.get() == 0) {
                    closeQuietly(channel);
                }
            });
        }

        @Override
        void settled() {
            if (unsettled.decrementAndGet() <= 0 && cancelled) {
                closeQuietly(channel);
            }
        }
    }

    // ---------------------------------------------------------------- declare, purge, delete

    CompletableFuture<QueueDeclareOk> declareOk(QueueForwarder.Address queue) {
        return call(queue, () -> {
            AMQP.Queue.DeclareOk ok = rpc().queueDeclarePassive(queue.queue());
            return new QueueDeclareOk(queue.queue(), ok.getMessageCount(), ok.getConsumerCount());
        });
    }

    CompletableFuture<Integer> purge(QueueForwarder.Address queue) {
        return call(queue, () -> rpc().queuePurge(queue.queue()).getMessageCount());
    }

    CompletableFuture<Integer> delete(QueueForwarder.Address queue, boolean ifUnused, boolean ifEmpty) {
        return call(
                queue, () -> rpc().queueDelete(queue.queue(), ifUnused, ifEmpty).getMessageCount());
    }

    /** A channel for one-off methods; an error (404, 406) closes it and the next call opens another. */
    private Channel rpc() throws IOException {
        if (rpc == null || !rpc.isOpen()) {
            rpc = connection().createChannel();
        }
        return rpc;
    }

    // ---------------------------------------------------------------- connection

    private Connection connection() throws IOException {
        if (connection != null && connection.isOpen()) {
            return connection;
        }
        InetSocketAddress address = addresses.apply(node);
        byte[] proof = secret.get();
        if (address == null || proof == null) {
            throw new IOException("node '" + node + "' has not joined the cluster yet");
        }
        ConnectionFactory factory = new ConnectionFactory();
        factory.setHost(address.getHostString());
        factory.setPort(address.getPort());
        factory.setVirtualHost(vhost);
        factory.setSaslConfig(mechanisms -> new NodeLogin(nodeId, proof));
        factory.setAutomaticRecoveryEnabled(false);
        factory.setTopologyRecoveryEnabled(false);
        factory.setConnectionTimeout(5_000);
        factory.setHandshakeTimeout(5_000);
        factory.setChannelRpcTimeout(10_000);
        factory.setRequestedHeartbeat(10);
        factory.setThreadFactory(new DefaultThreadFactory("courier-forward-io-" + node, true));
        try {
            connection = factory.newConnection(
                    List.of(new com.rabbitmq.client.Address(address.getHostString(), address.getPort())),
                    "courier node " + nodeId + " forwarding to " + node);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new IOException("timed out connecting to node '" + node + "' at " + address, e);
        }
        LOG.info(
                "forwarding to classic queues of vhost '{}' on node '{}' ({}:{})",
                vhost,
                node,
                address.getHostString(),
                address.getPort());
        return connection;
    }

    /** The cluster's node login: this node's id, NUL, the cluster's secret. */
    private record NodeLogin(String nodeId, byte[] secret) implements SaslMechanism {
        @Override
        public String getName() {
            return Authenticator.NODE_MECHANISM;
        }

        @Override
        public LongString handleChallenge(LongString challenge, String username, String password) {
            byte[] id = nodeId.getBytes(StandardCharsets.UTF_8);
            byte[] response = new byte[id.length + 1 + secret.length];
            System.arraycopy(id, 0, response, 0, id.length);
            System.arraycopy(secret, 0, response, id.length + 1, secret.length);
            return LongStringHelper.asLongString(response);
        }
    }

    // ---------------------------------------------------------------- plumbing

    private interface Step {
        void run() throws IOException;
    }

    private void onWorker(Step step) {
        try {
            worker.execute(() -> {
                try {
                    step.run();
                } catch (IOException | RuntimeException e) {
                    LOG.debug("forwarding to node '{}': {}", node, e.toString());
                }
            });
        } catch (RejectedExecutionException e) {
            // closed: the connection's end gives everything back on the other node
        }
    }

    private <T> CompletableFuture<T> call(QueueForwarder.Address queue, Callable<T> operation) {
        CompletableFuture<T> result = new CompletableFuture<>();
        try {
            worker.execute(() -> {
                try {
                    result.complete(operation.call());
                } catch (Exception e) {
                    result.completeExceptionally(failure(queue, e));
                }
            });
        } catch (RejectedExecutionException e) {
            result.completeExceptionally(NodeForwarder.unreachable(queue, "this node is stopping"));
        }
        return result;
    }

    /** The other node's channel error as this node's (same code and text), else 404 naming the node. */
    static AmqpException failure(QueueForwarder.Address queue, Throwable error) {
        for (Throwable cause = error; cause != null; cause = cause.getCause()) {
            if (cause instanceof ShutdownSignalException signal
                    && !signal.isHardError()
                    && signal.getReason() instanceof AMQP.Channel.Close close) {
                return new AmqpException(close.getReplyCode(), close.getReplyText());
            }
        }
        return NodeForwarder.unreachable(queue, String.valueOf(error.getMessage()));
    }

    private static void closeQuietly(Channel channel) {
        try {
            if (channel.isOpen()) {
                channel.close();
            }
        } catch (IOException | java.util.concurrent.TimeoutException | RuntimeException e) {
            // closing anyway
        }
    }

    void close() {
        worker.execute(() -> {
            if (connection != null && connection.isOpen()) {
                try {
                    connection.close(2_000);
                } catch (IOException | RuntimeException e) {
                    // going away anyway
                }
            }
        });
        worker.shutdown();
        try {
            worker.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
