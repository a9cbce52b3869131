package dev.courier.server.amqp;

import java.util.concurrent.ConcurrentHashMap;

/**
 * RabbitMQ's direct reply-to: a channel consuming from the pseudo-queue
 * {@code amq.rabbitmq.reply-to} gets a unique reply address; messages published to that address
 * through the default exchange go straight to the channel, with no queue in between.
 *
 * <p>One registry per server, shared by all connections; thread-safe.
 */
public final class DirectReplyTo {
    /** The pseudo-queue a client consumes from (no-ack) and names in reply_to. */
    public static final String QUEUE = "amq.rabbitmq.reply-to";

    /** Prefix of the generated reply addresses. */
    public static final String PREFIX = QUEUE + ".";

    private final ConcurrentHashMap<String, AmqpChannel> channels = new ConcurrentHashMap<>();

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
        String address = PREFIX + Names.random(24);
        channels.put(address, channel);
        return new Registration(address, consumerTag);
    }

    /** The channel behind a reply address, or null when it is gone. */
    AmqpChannel lookup(String address) {
        return channels.get(address);
    }
}
