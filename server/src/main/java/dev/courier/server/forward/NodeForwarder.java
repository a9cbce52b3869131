package dev.courier.server.forward;

import dev.courier.broker.AmqpException;
import dev.courier.broker.Message;
import dev.courier.broker.QueueDeclareOk;
import dev.courier.broker.QueueForwarder;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Forwards operations on other nodes' classic queues over AMQP: one {@link NodeLink} (a
 * connection, logged in with the cluster's secret) per node and vhost, opened on first use and
 * again after it broke. The owner treats the link like any client, except that a publish names
 * its queue ({@code ForwardedPublish}) instead of being routed again.
 */
public final class NodeForwarder implements QueueForwarder, AutoCloseable {
    private final String nodeId;
    private final Function<String, InetSocketAddress> amqpAddresses;
    private final Supplier<byte[]> secret;
    private final Map<String, NodeLink> links = new ConcurrentHashMap<>();
    private volatile boolean closed;

    /**
     * @param nodeId this node, as it logs in to the others
     * @param amqpAddresses where a node accepts AMQP connections, or null when it has not said yet
     * @param secret the cluster's secret, or null while there is none yet
     */
    public NodeForwarder(String nodeId, Function<String, InetSocketAddress> amqpAddresses, Supplier<byte[]> secret) {
        this.nodeId = nodeId;
        this.amqpAddresses = amqpAddresses;
        this.secret = secret;
    }

    private NodeLink link(Address queue) {
        if (closed) {
            throw unreachable(queue, "this node is stopping");
        }
        return links.computeIfAbsent(
                queue.node() + '\u0000' + queue.vhost(),
                key -> new NodeLink(nodeId, queue.node(), queue.vhost(), amqpAddresses, secret));
    }

    static AmqpException unreachable(Address queue, String why) {
        // a channel.close cuts its text to a short string (AmqpConstants.closeText)
        return AmqpException.notFound("queue '" + queue.queue() + "' in vhost '" + queue.vhost()
                + "' is a classic queue on node '" + queue.node() + "', which cannot be reached (" + why + ")");
    }

    @Override
    public CompletableFuture<Boolean> publish(Address queue, Message message) {
        NodeLink link;
        try {
            link = link(queue);
        } catch (AmqpException e) {
            message.release();
            return CompletableFuture.completedFuture(false);
        }
        return link.publish(queue.queue(), message);
    }

    /**
     * Sends a direct reply-to reply to {@code node}, whose requester it is for; takes over the
     * caller's reference. Nothing is reported back: a reply whose requester is gone is dropped.
     */
    public void relayReply(String node, String vhost, Message message) {
        Address via = new Address(node, vhost, "");
        NodeLink link;
        try {
            link = link(via);
        } catch (AmqpException e) {
            message.release();
            return;
        }
        link.publish(null, message);
    }

    @Override
    public CompletableFuture<ForwardedConsumer> consume(
            Address queue, ConsumeSpec spec, ForwardedConsumer.Listener listener) {
        return call(queue, link -> link.consume(queue, spec, listener));
    }

    @Override
    public CompletableFuture<ForwardedDelivery> get(Address queue, boolean autoAck) {
        return call(queue, link -> link.get(queue, autoAck));
    }

    @Override
    public CompletableFuture<QueueDeclareOk> declareOk(Address queue) {
        return call(queue, link -> link.declareOk(queue));
    }

    @Override
    public CompletableFuture<Integer> purge(Address queue) {
        return call(queue, link -> link.purge(queue));
    }

    @Override
    public CompletableFuture<Integer> delete(Address queue, boolean ifUnused, boolean ifEmpty) {
        return call(queue, link -> link.delete(queue, ifUnused, ifEmpty));
    }

    private <T> CompletableFuture<T> call(Address queue, Function<NodeLink, CompletableFuture<T>> operation) {
        try {
            return operation.apply(link(queue));
        } catch (AmqpException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    /** Closes every link; their consumers' deliveries go back to the queues on the other nodes. */
    @Override
    public void close() {
        closed = true;
        links.values().forEach(NodeLink::close);
        links.clear();
    }
}
