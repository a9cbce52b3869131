package dev.courier.server.amqp;

import dev.courier.broker.Message;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.concurrent.ConcurrentHashMap;

/**
 * RabbitMQ's direct reply-to: a channel consuming from the pseudo-queue
 * {@code amq.rabbitmq.reply-to} gets a unique reply address; messages published to that address
 * through the default exchange go straight to the channel, with no queue in between.
 *
 * <p>In a cluster an address names its node ({@code amq.rabbitmq.reply-to.HEX(node).RANDOM}), so
 * that a reply published through another node is relayed to this one over a node link, as
 * RabbitMQ routes direct replies between its nodes.
 *
 * <p>One registry per server, shared by all connections; thread-safe.
 */
public final class DirectReplyTo {
    /** The pseudo-queue a client consumes from (no-ack) and names in reply_to. */
    public static final String QUEUE = "amq.rabbitmq.reply-to";

    /** Prefix of the generated reply addresses. */
    public static final String PREFIX = QUEUE + ".";

    private final ConcurrentHashMap<String, AmqpChannel> channels = new ConcurrentHashMap<>();
    private final String nodeId;
    private final Relay relay;

    /** Hands a reply for another node's requester to that node. */
    @FunctionalInterface
    public interface Relay {
        /** Sends {@code message} (the caller's reference is taken over) to {@code node}'s vhost. */
        void relay(String node, String vhost, Message message);
    }

    /** A single node's registry. */
    public DirectReplyTo() {
        this(null, null);
    }

    /** A cluster node's registry: addresses name {@code nodeId}; replies for other nodes go to {@code relay}. */
    public DirectReplyTo(String nodeId, Relay relay) {
        this.nodeId = nodeId;
        this.relay = relay;
    }

    /** A channel's reply consumer and its address. */
    final class Registration {
        private final String address;
        private final String consumerTag;

        private Registration(String address, String consumerTag) {
            this.address = address;
            this.consumerTag = consumerTag;
        }

        String address() {
            return address;
        }

        String consumerTag() {
            return consumerTag;
        }

        void unregister() {
            channels.remove(address);
        }
    }

    Registration register(AmqpChannel channel, String consumerTag) {
        String address = nodeId == null
                ? PREFIX + Names.random(24)
                : PREFIX + HexFormat.of().formatHex(nodeId.getBytes(StandardCharsets.UTF_8)) + "." + Names.random(24);
        channels.put(address, channel);
        return new Registration(address, consumerTag);
    }

    /** The channel behind a reply address, or null when it is gone. */
    AmqpChannel lookup(String address) {
        return channels.get(address);
    }

    /**
     * Relays a reply whose address names another node of the cluster; false (and {@code message}
     * untouched) when the address is this node's or names no node.
     */
    boolean relay(String address, String vhost, Message message) {
        if (relay == null) {
            return false;
        }
        int dot = address.indexOf('.', PREFIX.length());
        if (dot < 0) {
            return false;
        }
        String node;
        try {
            node = new String(HexFormat.of().parseHex(address, PREFIX.length(), dot), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return false; // not an address of this cluster
        }
        if (node.equals(nodeId)) {
            return false;
        }
        relay.relay(node, vhost, message.retain());
        return true;
    }
}
