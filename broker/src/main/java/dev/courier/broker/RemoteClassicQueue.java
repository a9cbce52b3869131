package dev.courier.broker;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A classic queue of another node of the cluster, as this node serves it: publishes, consumers,
 * basic.get, purge and delete are forwarded to the queue's node ({@link QueueForwarder}), where
 * the queue keeps its messages. Bindings to it live here like any other, so a publish through
 * this node reaches it.
 *
 * <p>Deliveries stay unacknowledged on the owner until the client here settles them, so a
 * message this node never handed over (it died, the consumer went) goes back to the queue there.
 * A consumer that is auto-ack here settles each message on the owner as it is handed to the
 * channel, so at most its window waits on this node. Deliveries the consumer has no credit for
 * yet wait here, in order, until {@link #creditAvailable()}.
 *
 * <p>Threads: operations from any thread; deliveries arrive on the forwarder's threads. Each
 * consumer's deliveries are serialized by locking its record.
 */
final class RemoteClassicQueue extends MessageQueue {
    /** How many deliveries an auto-ack consumer may have waiting on this node. */
    static final int AUTO_ACK_WINDOW = 256;

    private final QueueForwarder forwarder;
    private final QueueForwarder.Address address;
    private final QueueStats stats = new QueueStats();
    private final Map<Consumer, LocalConsumer> locals = new ConcurrentHashMap<>();
    /** Deliveries handed out here and not settled yet, by entry id. */
    private final Map<Long, Held> held = new ConcurrentHashMap<>();

    private final AtomicLong entryIds = new AtomicLong();

    /** The counts its node last answered (declare-ok, {@link #refreshCounts()}). */
    private volatile QueueDeclareOk counts;

    RemoteClassicQueue(
            String name,
            VirtualHost vhost,
            String node,
            boolean durable,
            boolean autoDelete,
            Map<String, Object> arguments,
            QueueForwarder forwarder) {
        super(
                name,
                vhost,
                durable,
                false,
                autoDelete,
                arguments,
                QueueArguments.parse(name, vhost.name(), arguments),
                null);
        this.forwarder = forwarder;
        this.address = new QueueForwarder.Address(node, vhost.name(), name);
        this.counts = new QueueDeclareOk(name, 0, 0);
    }

    /** Where one delivery is settled. */
    private record Held(QueueForwarder.Settler settler, long tag) {}

    /** One consumer connected to this node. */
    private final class LocalConsumer implements QueueForwarder.ForwardedConsumer.Listener {
        final Consumer consumer;
        final ArrayDeque<Delivery> waiting = new ArrayDeque<>();
        QueueForwarder.ForwardedConsumer handle; // guarded by this
        boolean removed; // guarded by this

        LocalConsumer(Consumer consumer) {
            this.consumer = consumer;
        }

        @Override
        public void onDelivery(QueueForwarder.ForwardedDelivery forwarded) {
            long id = entryIds.incrementAndGet();
            held.put(id, new Held(forwarded.settler(), forwarded.tag()));
            Delivery delivery =
                    new Delivery(RemoteClassicQueue.this, id, forwarded.message(), forwarded.redelivered(), -1);
            synchronized (this) {
                if (removed) {
                    dropUndelivered(delivery);
                    return;
                }
                waiting.add(delivery);
                drain(this);
            }
        }

        @Override
        public void onCancelled() {
            if (locals.remove(consumer, this)) {
                synchronized (this) {
                    removed = true;
                    releaseWaiting(this);
                }
                consumer.onQueueDeleted();
            }
        }
    }

    // ---------------------------------------------------------------- reads

    /** The node the queue lives on. */
    @Override
    public String leaderNode() {
        return address.node();
    }

    /** As its node last answered; {@link #refreshCounts()} asks again. */
    @Override
    public int messageCount() {
        return counts.messageCount();
    }

    /** As its node counts them: whether they are in memory there is its node's business. */
    @Override
    public int residentMessageCount() {
        return messageCount();
    }

    /** Consumers of the queue on every node, as its node last answered. */
    @Override
    public int consumerCount() {
        return counts.consumerCount();
    }

    /**
     * Asks its node (a passive declare): counts are not polled, only asked for when someone looks
     * (a declare, the management API), so idle remote queues cost nothing.
     */
    @Override
    public CompletableFuture<Void> refreshCounts() {
        return declareOk().handle((ok, failure) -> null);
    }

    @Override
    public QueueStats stats() {
        return stats;
    }

    @Override
    public CompletableFuture<List<Consumer>> consumers() {
        return CompletableFuture.completedFuture(new ArrayList<>(locals.keySet()));
    }

    @Override
    CompletableFuture<QueueDeclareOk> declareOk() {
        return forwarder.declareOk(address).thenApply(ok -> {
            counts = ok;
            return ok;
        });
    }

    // ---------------------------------------------------------------- publish

    @Override
    public void enqueue(Message message, EnqueueListener listener) {
        count(QueueStats.Counter.PUBLISH, 1);
        forwarder.publish(address, message).thenAccept(accepted -> {
            if (listener != null) {
                listener.onEnqueued(accepted);
            }
        });
    }

    // ---------------------------------------------------------------- consume

    @Override
    public CompletableFuture<Void> addConsumer(Consumer consumer, boolean exclusive) {
        LocalConsumer local = new LocalConsumer(consumer);
        locals.put(consumer, local);
        int window = consumer.autoAck() ? AUTO_ACK_WINDOW : consumer.prefetchCount();
        return forwarder
                .consume(
                        address,
                        new QueueForwarder.ConsumeSpec(consumer.consumerTag(), window, exclusive, consumer.priority()),
                        local)
                .handle((handle, failure) -> {
                    if (failure != null) {
                        locals.remove(consumer, local);
                        Throwable cause = ReplicatedDefinitions.unwrap(failure);
                        throw cause instanceof RuntimeException e ? e : new CompletionException(cause);
                    }
                    boolean cancelNow;
                    synchronized (local) {
                        local.handle = handle;
                        cancelNow = local.removed;
                    }
                    if (cancelNow) {
                        handle.cancel();
                    }
                    return null;
                });
    }

    /**
     * basic.cancel (or the channel closing): no more deliveries to this consumer. What it was
     * handed stays unacknowledged, and may still be acked, as with RabbitMQ; deliveries that had
     * not reached the client yet go back at once.
     */
    @Override
    public CompletableFuture<Void> removeConsumer(Consumer consumer) {
        LocalConsumer local = locals.remove(consumer);
        if (local != null) {
            detach(local);
        }
        return CompletableFuture.completedFuture(null);
    }

    /** Gives back what waits for the consumer and cancels it on the owner. */
    private void detach(LocalConsumer local) {
        QueueForwarder.ForwardedConsumer handle;
        synchronized (local) {
            local.removed = true;
            releaseWaiting(local);
            handle = local.handle;
        }
        if (handle != null) {
            handle.cancel();
        }
    }

    // local's lock held
    private void drain(LocalConsumer local) {
        boolean autoAck = local.consumer.autoAck();
        Delivery next;
        while ((next = local.waiting.peek()) != null && local.consumer.tryAcquireCredit()) {
            local.waiting.poll();
            count(autoAck ? QueueStats.Counter.DELIVER_NO_ACK : QueueStats.Counter.DELIVER, 1);
            if (next.redelivered()) {
                count(QueueStats.Counter.REDELIVER, 1);
            }
            if (autoAck) { // it leaves the queue once handed to the channel
                Held settled = held.remove(next.entryId());
                if (settled != null) {
                    settled.settler().ack(settled.tag());
                }
            }
            local.consumer.deliver(next);
        }
    }

    // local's lock held: deliveries that never reached the client go back, not counted as failed
    private void releaseWaiting(LocalConsumer local) {
        Delivery waiting;
        while ((waiting = local.waiting.poll()) != null) {
            dropUndelivered(waiting);
        }
    }

    private void dropUndelivered(Delivery delivery) {
        delivery.message().release();
        Held back = held.remove(delivery.entryId());
        if (back != null) {
            back.settler().reject(back.tag(), true);
        }
    }

    @Override
    public void creditAvailable() {
        for (LocalConsumer local : locals.values()) {
            synchronized (local) {
                drain(local);
            }
        }
    }

    // ---------------------------------------------------------------- settle

    @Override
    public void ack(long[] entryIds, int count) {
        count(QueueStats.Counter.ACK, count);
        for (int i = 0; i < count; i++) {
            Held delivery = held.remove(entryIds[i]);
            if (delivery != null) {
                delivery.settler().ack(delivery.tag());
            }
        }
    }

    @Override
    public void requeue(long[] entryIds, int count) {
        reject(entryIds, count, true);
    }

    @Override
    public void discard(long[] entryIds, int count) {
        reject(entryIds, count, false); // the owner dead-letters it when the queue says so
    }

    private void reject(long[] entryIds, int count, boolean requeue) {
        for (int i = 0; i < count; i++) {
            Held delivery = held.remove(entryIds[i]);
            if (delivery != null) {
                delivery.settler().reject(delivery.tag(), requeue);
            }
        }
    }

    // ---------------------------------------------------------------- get, purge, delete

    @Override
    public CompletableFuture<GetResult> get(boolean autoAck) {
        return forwarder.get(address, autoAck).thenApply(forwarded -> {
            if (forwarded == null) {
                return new GetResult(null, 0);
            }
            count(autoAck ? QueueStats.Counter.GET_NO_ACK : QueueStats.Counter.GET, 1);
            long id = entryIds.incrementAndGet();
            if (forwarded.settler() != null) {
                held.put(id, new Held(forwarded.settler(), forwarded.tag()));
            }
            int left = (int) Math.max(0, forwarded.messageCount());
            return new GetResult(new Delivery(this, id, forwarded.message(), forwarded.redelivered(), left), left);
        });
    }

    @Override
    public CompletableFuture<Integer> purge() {
        return forwarder.purge(address);
    }

    @Override
    public CompletableFuture<Integer> moveTo(MessageQueue target, int max) {
        return moveOneByOne(target, max);
    }

    /**
     * Deletes the queue on its node; the node then removes it from the cluster's metadata, and
     * every node forgets it ({@link #forget()}).
     */
    @Override
    CompletableFuture<Integer> delete(boolean ifUnused, boolean ifEmpty) {
        return forwarder.delete(address, ifUnused, ifEmpty);
    }

    /** The queue left the cluster's metadata (deleted on its node): consumers here hear basic.cancel. */
    void forget() {
        for (LocalConsumer local : locals.values()) {
            local.onCancelled();
        }
    }

    @Override
    CompletableFuture<Integer> shutdown() {
        locals.values().forEach(this::detach);
        locals.clear();
        return CompletableFuture.completedFuture(0);
    }

    // ---------------------------------------------------------------- counters

    /** Event loops (publishes, acks) and the forwarder's threads (deliveries) both count: they take turns. */
    private void count(QueueStats.Counter counter, long n) {
        synchronized (stats) {
            stats.add(counter, n);
        }
    }

    @Override
    public String toString() {
        return "classic queue '" + name + "' in vhost '" + vhost.name() + "' on node '" + address.node() + "'";
    }
}
