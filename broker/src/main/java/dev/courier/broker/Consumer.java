package dev.courier.broker;

/**
 * A consumer attached to a queue, implemented by the server for each basic.consume.
 *
 * <p>Every method is called on the queue's actor thread and must not block.
 */
public interface Consumer {
    String consumerTag();

    /** True for no-ack consumers: a delivered message is settled at once. */
    boolean autoAck();

    /**
     * The consumer's prefetch (basic.qos), 0 for none; quorum queues replicate it so that every
     * node hands a consumer no more than that.
     */
    default int prefetchCount() {
        return 0;
    }

    /** The x-priority consumer argument; higher is served first, equal ones round-robin. */
    int priority();

    /**
     * Takes one unit of credit (prefetch, socket room). False means "not now": the queue stops
     * offering messages to this consumer until {@link MessageQueue#creditAvailable()}.
     */
    boolean tryAcquireCredit();

    /** Hands over one message; the delivery carries one reference the consumer must release. */
    void deliver(Delivery delivery);

    /** The queue was deleted: the consumer is gone (the server sends basic.cancel). */
    void onQueueDeleted();
}
