package dev.courier.server.amqp;

import dev.courier.broker.Consumer;
import dev.courier.broker.Delivery;
import dev.courier.broker.MessageQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One basic.consume: the broker's view of a client consumer on an AMQP channel.
 *
 * <p>The queue actor calls {@link #tryAcquireCredit} and {@link #deliver} on its own thread; the
 * channel's event loop releases credit as acks arrive. Credit is the lesser of the consumer's
 * prefetch, the channel's global prefetch and room in the channel's outbound buffer. When the
 * queue finds no credit it marks the consumer {@code blocked}; whoever frees credit later clears
 * the flag and wakes the queue, so a queue never waits on a consumer that could take a message.
 */
final class ChannelConsumer implements Consumer {
    private final AmqpChannel channel;
    private final MessageQueue queue;
    private final String consumerTag;
    private final boolean autoAck;
    private final int priority;
    private final int prefetchCount;
    private final AtomicInteger unacked = new AtomicInteger();
    private final AtomicBoolean blocked = new AtomicBoolean();
    private volatile boolean started;
    private volatile boolean cancelled;

    ChannelConsumer(
            AmqpChannel channel,
            MessageQueue queue,
            String consumerTag,
            boolean autoAck,
            int priority,
            int prefetchCount) {
        this.channel = channel;
        this.queue = queue;
        this.consumerTag = consumerTag;
        this.autoAck = autoAck;
        this.priority = priority;
        this.prefetchCount = prefetchCount;
    }

    @Override
    public String consumerTag() {
        return consumerTag;
    }

    @Override
    public boolean autoAck() {
        return autoAck;
    }

    @Override
    public int prefetchCount() {
        return prefetchCount;
    }

    @Override
    public int priority() {
        return priority;
    }

    MessageQueue queue() {
        return queue;
    }

    /** Called on the event loop once consume-ok is written: deliveries may flow from now on. */
    void start() {
        started = true;
        wake();
    }

    /** Called on the event loop when the consumer is cancelled or its channel closes. */
    void cancel() {
        cancelled = true;
    }

    boolean cancelled() {
        return cancelled;
    }

    @Override
    public boolean tryAcquireCredit() {
        if (tryReserve()) {
            return true;
        }
        blocked.set(true);
        // Retry after publishing the flag: credit freed between the first attempt and the flag
        // would otherwise go unnoticed (the releaser saw blocked=false and did not wake the queue).
        if (tryReserve()) {
            blocked.set(false); // a wake-up sent meanwhile is harmless: the queue just dispatches
            return true;
        }
        return false;
    }

    private boolean tryReserve() {
        if (!started || cancelled || !channel.canDeliver()) {
            return false;
        }
        if (autoAck) {
            return true;
        }
        if (prefetchCount != 0 && unacked.incrementAndGet() > prefetchCount) {
            unacked.decrementAndGet();
            return false;
        }
        if (!channel.tryReserveGlobalCredit()) {
            if (prefetchCount != 0) {
                unacked.decrementAndGet();
            }
            return false;
        }
        return true;
    }

    /** Called on the event loop when an ack, nack or reject settles one of this consumer's deliveries. */
    void releaseCredit() {
        if (!autoAck) {
            if (prefetchCount != 0) {
                unacked.decrementAndGet();
            }
            channel.releaseGlobalCredit();
        }
    }

    /** Wakes the queue if it gave up on this consumer for lack of credit. */
    void wake() {
        if (blocked.compareAndSet(true, false)) {
            queue.creditAvailable();
        }
    }

    @Override
    public void deliver(Delivery delivery) {
        channel.onDelivery(this, delivery);
    }

    @Override
    public void onQueueDeleted() {
        channel.onConsumerCancelledByQueue(this);
    }
}
