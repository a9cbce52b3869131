package dev.courier.broker;

import java.util.concurrent.CompletableFuture;

/**
 * How this node reaches a classic queue that lives on another node of the cluster: the server
 * implements it over AMQP connections between the nodes. {@link RemoteClassicQueue} turns queue
 * operations into these calls.
 *
 * <p>Every call may be made from any thread and never blocks; futures complete on the
 * forwarder's threads. A failure is an {@link AmqpException} with the code and text the owner
 * answered, or 404 naming the node when it cannot be reached (RabbitMQ's answer for a classic
 * queue whose home node is down).
 */
public interface QueueForwarder {
    /**
     * Enqueues a copy of {@code message} on the queue, keeping its exchange and routing key; takes
     * over the caller's reference. Completes with true once the owner confirmed it (it took the
     * message, fsynced when persistent on a durable queue), false when it refused it or could not
     * be asked; never fails.
     */
    CompletableFuture<Boolean> publish(Address queue, Message message);

    /**
     * Starts a consumer on the queue. Deliveries stay unacknowledged on the owner until settled
     * through the returned handle (also for consumers that are auto-ack here), at most {@code
     * window} of them at a time (0: no limit).
     */
    CompletableFuture<ForwardedConsumer> consume(Address queue, ConsumeSpec spec, ForwardedConsumer.Listener listener);

    /** basic.get; completes with null when the queue is empty. */
    CompletableFuture<ForwardedDelivery> get(Address queue, boolean autoAck);

    /** A passive queue.declare: the queue's counts on its node. */
    CompletableFuture<QueueDeclareOk> declareOk(Address queue);

    /** queue.purge on the owner: the number of messages dropped. */
    CompletableFuture<Integer> purge(Address queue);

    /** queue.delete on the owner: the number of messages dropped. */
    CompletableFuture<Integer> delete(Address queue, boolean ifUnused, boolean ifEmpty);

    /** A queue on another node. */
    record Address(String node, String vhost, String queue) {}

    /**
     * What a forwarded consumer asks the owner for.
     *
     * @param window the most unsettled deliveries at a time, 0 for no limit
     * @param exclusive basic.consume's exclusive flag
     * @param priority the x-priority consumer argument
     */
    record ConsumeSpec(String consumerTag, int window, boolean exclusive, int priority) {}

    /** Settles the deliveries of one channel on the owner node; calls after that channel is gone are dropped (the owner requeued them). */
    interface Settler {
        void ack(long tag);

        void reject(long tag, boolean requeue);
    }

    /**
     * One message from the owner node.
     *
     * @param settler where to settle it, with {@code tag}; null when it was settled on the way
     *     (an auto-ack basic.get)
     * @param message the message, with one reference owned by the receiver
     * @param messageCount the ready messages left (basic.get), else -1
     */
    record ForwardedDelivery(Settler settler, long tag, boolean redelivered, Message message, long messageCount) {}

    /** A consumer on the owner node. */
    interface ForwardedConsumer extends Settler {
        /** basic.cancel there; what was delivered stays settleable until settled. */
        void cancel();

        /** Hears the consumer's deliveries, one at a time and in order. */
        interface Listener {
            void onDelivery(ForwardedDelivery delivery);

            /** The owner cancelled the consumer (the queue was deleted) or cannot be reached any more. */
            void onCancelled();
        }
    }
}
