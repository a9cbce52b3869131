package dev.courier.server.amqp;

import static dev.courier.protocol.AmqpConstants.ACCESS_REFUSED;
import static dev.courier.protocol.AmqpConstants.NO_ROUTE;
import static dev.courier.protocol.AmqpConstants.PRECONDITION_FAILED;

import dev.courier.broker.AmqpException;
import dev.courier.broker.CommitUnit;
import dev.courier.broker.Message;
import dev.courier.broker.MessageQueue;
import dev.courier.broker.VirtualHost;
import dev.courier.protocol.Amqp;
import dev.courier.protocol.BasicProperties;
import dev.courier.server.auth.Permission;
import dev.courier.store.Blob;
import io.netty.buffer.ByteBuf;
import java.util.List;

/**
 * The publish path of one channel: checks a complete message, routes it and hands it to its
 * queues, answering mandatory returns and publisher confirms. Event loop only.
 */
final class Publisher {
    /** Property-flag bits of the basic class (0-9-1 §4.2.6.1: the first property is bit 15). */
    private static final int FLAG_REPLY_TO = 1 << 9;

    private static final int FLAG_USER_ID = 1 << 4;

    private static final int FLAG_EXPIRATION = 1 << 8;

    /** Smallest back-pressure charge per message, so floods of tiny messages are bounded too. */
    private static final long MIN_CHARGE_BYTES = 512;

    private final AmqpChannel channel;
    private final AmqpConnection connection;
    private final VirtualHost vhost;
    private String lastPermittedExchange;

    Publisher(AmqpChannel channel, AmqpConnection connection, VirtualHost vhost) {
        this.channel = channel;
        this.connection = connection;
        this.vhost = vhost;
    }

    /** Publishes one message; takes ownership of {@code properties} and {@code body}. */
    void publish(Amqp.Basic.Publish publish, ByteBuf properties, ByteBuf body) {
        publish(publish, properties, body, null, null, null);
    }

    /**
     * As {@link #publish(Amqp.Basic.Publish, ByteBuf, ByteBuf)}, for tx.commit; a non-null
     * {@code largeBody} (also owned from here on) is the body instead of {@code body}; {@code
     * commit} (nullable) hears when the queues took it, and the message joins {@code unit}
     * (nullable).
     */
    void publish(
            Amqp.Basic.Publish publish,
            ByteBuf properties,
            ByteBuf body,
            Blob largeBody,
            Transaction.Commit commit,
            CommitUnit unit) {
        Message message;
        if (largeBody != null) {
            body.release();
            message = new Message(publish.exchange(), publish.routingKey(), properties, largeBody);
        } else {
            message = new Message(publish.exchange(), publish.routingKey(), properties, body);
            if (!message.persistent()) {
                // never paged out: it must not pin the read buffer its slices come from
                message = message.copiedOut();
            }
        }
        try {
            PendingConfirms confirms = channel.confirms();
            if (connection.nodeLink()) { // another node of the cluster forwards what it routed here
                long seqNo = confirms == null ? 0 : confirms.next();
                String target = ForwardedPublish.target(message);
                if (target != null) {
                    Message stripped = ForwardedPublish.withoutTarget(message);
                    message.release();
                    message = stripped;
                }
                enqueueForwarded(message, target, seqNo);
                return;
            }
            message = checkProperties(message);
            long seqNo = confirms == null ? 0 : confirms.next();
            String exchange = publish.exchange();
            String routingKey = publish.routingKey();
            if (exchange.isEmpty() && routingKey.startsWith(DirectReplyTo.PREFIX)) {
                if (postDirectReply(routingKey, message)) {
                    // delivered to the requester's channel on this node
                } else if (connection.directReplyTo().relay(routingKey, vhost.name(), message)) {
                    // the requester is connected to another node: relayed there (a missing one is not reported back)
                } else if (publish.mandatory()) {
                    returnUnroutable(message);
                }
                settle(confirms, seqNo);
                return;
            }
            if (!exchange.equals(lastPermittedExchange)) {
                channel.check(Permission.Access.WRITE, "exchange", exchange);
                lastPermittedExchange = exchange; // publishers mostly use one exchange: check it once
            }
            if (!exchange.isEmpty() && vhost.isInternal(exchange)) {
                throw new AmqpException(
                        ACCESS_REFUSED,
                        "cannot publish to internal exchange '" + exchange + "' in vhost '" + vhost.name() + "'");
            }
            route(publish, message, confirms, seqNo, commit, unit);
        } finally {
            message.release();
        }
    }

    private void route(
            Amqp.Basic.Publish publish,
            Message message,
            PendingConfirms confirms,
            long seqNo,
            Transaction.Commit commit,
            CommitUnit unit) {
        List<MessageQueue> targets = channel.routeTargets();
        targets.clear();
        vhost.route(publish.exchange(), publish.routingKey(), message, targets);
        if (targets.isEmpty()) {
            if (publish.mandatory()) {
                returnUnroutable(message);
            }
            settle(confirms, seqNo);
            return;
        }
        enqueue(message, targets, seqNo, commit, unit);
    }

    private void enqueue(
            Message message, List<MessageQueue> targets, long seqNo, Transaction.Commit commit, CommitUnit unit) {
        // a large body is on disk already: only its reference waits in memory for the queues
        long charge = (message.isLarge() ? MIN_CHARGE_BYTES : Math.max(MIN_CHARGE_BYTES, message.bodySize()))
                * targets.size();
        connection.chargePublish(charge);
        if (commit != null) {
            commit.expect();
        }
        PublishListener listener = new PublishListener(channel, seqNo, targets.size(), charge, commit);
        vhost.enqueue(message, targets, listener, unit);
        targets.clear();
    }

    /**
     * A message another node of the cluster forwards to a classic queue of this node: it goes to
     * that queue only (it was routed there), keeping its exchange and routing key; nacked when the
     * queue is not here (any more).
     */
    private void enqueueForwarded(Message message, String queueName, long seqNo) {
        if (queueName == null
                && message.exchange().isEmpty()
                && message.routingKey().startsWith(DirectReplyTo.PREFIX)) {
            new PublishListener(channel, seqNo, 1, 0, null).onEnqueued(postDirectReply(message.routingKey(), message));
            return;
        }
        MessageQueue queue = queueName == null ? null : vhost.findQueue(queueName);
        if (queue == null || queue.leaderNode() != null) {
            new PublishListener(channel, seqNo, 1, 0, null).onEnqueued(false);
            return;
        }
        List<MessageQueue> targets = channel.routeTargets();
        targets.clear();
        targets.add(queue);
        enqueue(message, targets, seqNo, null, null);
    }

    /** RabbitMQ accepts a non-negative integer number of milliseconds, as a string. */
    private static boolean validExpiration(String expiration) {
        try {
            return Long.parseLong(expiration) >= 0;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    /** Hands a reply to the channel on this node that owns {@code address}; false when there is none. */
    private boolean postDirectReply(String address, Message message) {
        AmqpChannel replyChannel = connection.directReplyTo().lookup(address);
        if (replyChannel == null) {
            return false;
        }
        message.retain();
        replyChannel.postDirectReply(message);
        return true;
    }

    /** basic.return 312 NO_ROUTE with the message; written before the confirm, as RabbitMQ does. */
    private void returnUnroutable(Message message) {
        connection.writeContent(
                channel.id(),
                new Amqp.Basic.Return(NO_ROUTE, "NO_ROUTE", message.exchange(), message.routingKey()),
                message);
    }

    private void settle(PendingConfirms confirms, long seqNo) {
        if (confirms != null) {
            confirms.settle(seqNo);
        }
    }

    /**
     * Enforces RabbitMQ's rules on user_id and rewrites a direct reply-to {@code reply_to}; both
     * are rare, so the properties are only decoded when their flag is set.
     */
    private Message checkProperties(Message message) {
        ByteBuf raw = message.rawProperties();
        int flags = raw.readableBytes() >= 2 ? raw.getUnsignedShort(raw.readerIndex()) : 0;
        if ((flags & (FLAG_REPLY_TO | FLAG_USER_ID | FLAG_EXPIRATION)) == 0) {
            return message;
        }
        BasicProperties properties = message.properties();
        if (properties.expiration() != null && !validExpiration(properties.expiration())) {
            throw new AmqpException(PRECONDITION_FAILED, "invalid expiration '" + properties.expiration() + "'");
        }
        String userId = properties.userId();
        if (userId != null && !userId.equals(connection.user())) {
            throw new AmqpException(
                    PRECONDITION_FAILED,
                    "user_id property set to '" + userId + "' but authenticated user was '" + connection.user() + "'");
        }
        if (!DirectReplyTo.QUEUE.equals(properties.replyTo())) {
            return message;
        }
        DirectReplyTo.Registration replyTo = channel.replyTo();
        if (replyTo == null) {
            throw new AmqpException(PRECONDITION_FAILED, "fast reply consumer does not exist");
        }
        BasicProperties rewritten = properties.withReplyTo(replyTo.address());
        ByteBuf encoded = raw.alloc().buffer(raw.readableBytes() + 64);
        rewritten.encode(encoded);
        Message replacement = message.withRouting(message.exchange(), message.routingKey(), encoded);
        message.release();
        return replacement;
    }
}
