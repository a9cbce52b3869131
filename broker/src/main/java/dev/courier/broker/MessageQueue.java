package dev.courier.broker;

import dev.courier.store.StoreQueue;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * A queue as the server and the rest of the broker see it, whatever keeps its messages: a {@link
 * ClassicQueue} on this node, or (later) a replicated quorum queue. The identity (name, owner,
 * arguments) is fixed at declare; everything else is asynchronous and thread-safe: operations may
 * be called from any thread, futures and listeners complete on the queue's own thread, and {@link
 * Consumer}s are called there.
 */
public abstract class MessageQueue {
    final String name;
    final VirtualHost vhost;
    final boolean durable;
    final boolean exclusive;
    final boolean autoDelete;
    final Map<String, Object> arguments;
    final QueueArguments features;
    final Object exclusiveOwner;

    MessageQueue(
            String name,
            VirtualHost vhost,
            boolean durable,
            boolean exclusive,
            boolean autoDelete,
            Map<String, Object> arguments,
            QueueArguments features,
            Object exclusiveOwner) {
        this.name = name;
        this.vhost = vhost;
        this.durable = durable;
        this.exclusive = exclusive;
        this.autoDelete = autoDelete;
        this.arguments = arguments;
        this.features = features;
        this.exclusiveOwner = exclusiveOwner;
    }

    public final String name() {
        return name;
    }

    public final VirtualHost vhost() {
        return vhost;
    }

    public final boolean durable() {
        return durable;
    }

    public final boolean exclusive() {
        return exclusive;
    }

    public final boolean autoDelete() {
        return autoDelete;
    }

    /** The x-arguments as declared. */
    public final Map<String, Object> arguments() {
        return arguments;
    }

    /** The parsed x-arguments. */
    public final QueueArguments features() {
        return features;
    }

    /** The connection that owns this exclusive queue, or null. */
    public final Object exclusiveOwner() {
        return exclusiveOwner;
    }

    /** RabbitMQ's queue type: {@code classic} or {@code quorum}. */
    public String type() {
        return "classic";
    }

    /** The node whose replica leads this queue, or null for a queue that lives on this node only. */
    public String leaderNode() {
        return null;
    }

    /** The nodes holding a replica (quorum queues); empty for a queue on this node only. */
    public List<String> memberNodes() {
        return List.of();
    }

    /** This queue in the local message store, or null when its messages are not stored there. */
    StoreQueue storeQueue() {
        return null;
    }

    /** Ready messages; a recent value, readable from any thread. */
    public abstract int messageCount();

    /** Ready messages whose body is in memory; a recent value. */
    public abstract int residentMessageCount();

    /** Consumers; a recent value, readable from any thread. */
    public abstract int consumerCount();

    /**
     * Asks again for counts this node does not keep itself (another node's classic queue), so that
     * {@link #messageCount()} and {@link #consumerCount()} are no older than this call once the
     * future completes; it never fails. Complete at once for queues whose counts are here.
     */
    public CompletableFuture<Void> refreshCounts() {
        return CompletableFuture.completedFuture(null);
    }

    /** Cumulative counters and gauges for management and metrics; readable from any thread. */
    public abstract QueueStats stats();

    /** The attached consumers, as the queue sees them. */
    public abstract CompletableFuture<List<Consumer>> consumers();

    /**
     * Adds a message; takes over the caller's reference. {@code listener} (nullable) is told, on
     * the queue's thread, whether the queue took it.
     */
    public abstract void enqueue(Message message, EnqueueListener listener);

    /** Attaches a consumer; fails with 403 when exclusivity forbids it, 404 when the queue is gone. */
    public abstract CompletableFuture<Void> addConsumer(Consumer consumer, boolean exclusive);

    /** Detaches a consumer; its unacknowledged messages go back to the queue. */
    public abstract CompletableFuture<Void> removeConsumer(Consumer consumer);

    /** Acknowledges the first {@code count} of {@code entryIds} (from {@link Delivery#entryId()}). */
    public abstract void ack(long[] entryIds, int count);

    /**
     * Acknowledges deliveries whose removal from the store a transaction already wrote ({@link
     * CommitUnit#remove}), so the queue must not write it again. Queues without a store entry for
     * them ack as usual.
     */
    public void ackCommitted(long[] entryIds, int count) {
        ack(entryIds, count);
    }

    /** Returns deliveries to the queue (nack or reject with requeue, recover). */
    public abstract void requeue(long[] entryIds, int count);

    /** Drops deliveries, dead-lettering them when the queue has a dead-letter exchange. */
    public abstract void discard(long[] entryIds, int count);

    /** A consumer that refused credit has room again. */
    public abstract void creditAvailable();

    /** basic.get. */
    public abstract CompletableFuture<GetResult> get(boolean autoAck);

    /** Drops the ready messages; answers how many. */
    public abstract CompletableFuture<Integer> purge();

    /** Moves up to {@code max} ready messages to {@code target}, in order; answers how many. */
    public abstract CompletableFuture<Integer> moveTo(MessageQueue target, int max);

    /**
     * {@link #moveTo} one message at a time: taken with a get, published to the target, and acked
     * here only once the target took it (requeued here if it refused), so a failure midway loses
     * nothing. For queues whose messages are not on this node's actor (quorum, another node's).
     */
    final CompletableFuture<Integer> moveOneByOne(MessageQueue target, int max) {
        return moveNext(target, max, 0);
    }

    private CompletableFuture<Integer> moveNext(MessageQueue target, int max, int moved) {
        if (moved >= max) {
            return CompletableFuture.completedFuture(moved);
        }
        return get(false).thenCompose(result -> {
            Delivery delivery = result.delivery();
            if (delivery == null) {
                return CompletableFuture.completedFuture(moved);
            }
            CompletableFuture<Boolean> taken = new CompletableFuture<>();
            target.enqueue(delivery.message(), taken::complete);
            return taken.thenCompose(accepted -> {
                long[] id = {delivery.entryId()};
                if (!accepted) {
                    requeue(id, 1);
                    return CompletableFuture.completedFuture(moved);
                }
                ack(id, 1);
                return moveNext(target, max, moved + 1);
            });
        });
    }

    /** What queue.declare-ok answers: message and consumer counts. */
    abstract CompletableFuture<QueueDeclareOk> declareOk();

    /** Deletes the queue (404/406 rules of queue.delete); answers the messages dropped. */
    abstract CompletableFuture<Integer> delete(boolean ifUnused, boolean ifEmpty);

    /** Releases everything because the broker stops; completes once done. */
    abstract CompletableFuture<Integer> shutdown();
}
