package dev.courier.broker;

import dev.courier.cluster.QuorumQueues;
import dev.courier.cluster.fifo.Command;
import dev.courier.cluster.fifo.Effect;
import dev.courier.cluster.fifo.QueueView;
import dev.courier.cluster.fifo.Reply;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A quorum queue as seen from this node: its state lives in a Raft group ({@link
 * dev.courier.cluster.QuorumQueues}); this object turns queue operations into commands and the
 * group's effects into deliveries to the consumers connected here.
 *
 * <p>A publish is confirmed once its enqueue is committed on a majority of the nodes (each
 * fsyncs). Consumers check out through the log, so every node agrees which consumer holds which
 * message; the node a consumer is connected to delivers to it. Deliveries the consumer has no
 * credit for yet wait here, in order, until {@link #creditAvailable()}.
 *
 * <p>Threads: operations from any thread; effects arrive on the group's apply thread. Each local
 * consumer's deliveries are serialized by locking that consumer's record.
 */
final class QuorumQueue extends MessageQueue {
    private static final Logger LOG = LoggerFactory.getLogger(QuorumQueue.class);

    private static final AtomicLong CONSUMER_IDS = new AtomicLong();
    /**
     * Tokens of this process's basic.get commands, from a random start so that a get replayed from
     * the log of an earlier run of this node is not taken for one of this run.
     */
    private static final AtomicLong GET_TOKENS =
            new AtomicLong(ThreadLocalRandom.current().nextLong());

    private final QuorumDirectory directory;
    private final String key;
    private final QueueStats stats = new QueueStats();
    private final Map<String, LocalConsumer> locals = new ConcurrentHashMap<>();
    /** Unacknowledged deliveries made on this node: message id to the consumer id that holds it. */
    private final Map<Long, String> holders = new ConcurrentHashMap<>();
    /** This node's basic.get calls between submit and answer. */
    private final PendingGets gets = new PendingGets(this::giveBack);

    private final String getConsumerId;
    /**
     * Publishes from this node are numbered in the order they are submitted, so that the state
     * machine drops a copy the Raft client resent after a leader change ({@code DUPLICATE}).
     */
    private final Object publishOrder = new Object();

    private long publishSeq; // guarded by publishOrder

    private volatile int ready;
    private volatile int unacked;
    private volatile int consumers;
    private volatile boolean deleted;

    QuorumQueue(
            String name,
            VirtualHost vhost,
            boolean autoDelete,
            Map<String, Object> arguments,
            QueueArguments features,
            QuorumDirectory directory) {
        super(name, vhost, true, false, autoDelete, arguments, features, null);
        this.directory = directory;
        this.key = QuorumDirectory.key(vhost.name(), name);
        this.getConsumerId = directory.nodeId() + "/get";
    }

    String key() {
        return key;
    }

    /** One consumer connected to this node. */
    private static final class LocalConsumer {
        final String id;
        final Consumer consumer;
        final ArrayDeque<Delivery> waiting = new ArrayDeque<>();

        LocalConsumer(String id, Consumer consumer) {
            this.id = id;
            this.consumer = consumer;
        }
    }

    // ---------------------------------------------------------------- reads

    @Override
    public String type() {
        return "quorum";
    }

    @Override
    public String leaderNode() {
        QuorumQueues cluster = directory.clusterOrNull();
        return cluster == null
                ? null
                : cluster.raft().leaderOf(cluster.groupOf(key)).orElse(null);
    }

    @Override
    public List<String> memberNodes() {
        QuorumQueues cluster = directory.clusterOrNull();
        return cluster == null ? List.of() : cluster.members();
    }

    @Override
    public int messageCount() {
        return ready;
    }

    @Override
    public int residentMessageCount() {
        return ready;
    }

    @Override
    public int consumerCount() {
        return consumers;
    }

    @Override
    public QueueStats stats() {
        return stats;
    }

    @Override
    public CompletableFuture<List<Consumer>> consumers() {
        List<Consumer> list = new ArrayList<>();
        for (LocalConsumer local : locals.values()) {
            list.add(local.consumer);
        }
        return CompletableFuture.completedFuture(list);
    }

    @Override
    CompletableFuture<QueueDeclareOk> declareOk() {
        return CompletableFuture.completedFuture(deleted ? null : new QueueDeclareOk(name, ready, consumers));
    }

    // ---------------------------------------------------------------- publish

    @Override
    public void enqueue(Message message, EnqueueListener listener) {
        String dedupKey;
        int priority;
        long ttl;
        byte[] encoded;
        try {
            dedupKey = features.deduplication() ? Deduplication.keyOf(message, features.deduplicationHeader()) : null;
            priority = message.hasPriority()
                    ? Math.min(255, Math.max(0, message.properties().priority()))
                    : 0;
            ttl = message.expirationMs();
            encoded = QuorumMessages.encode(message, vhost.runtime().clockMs().getAsLong());
        } catch (UncheckedIOException e) {
            LOG.error("{}: cannot read the blob of a large message to replicate it", this, e);
            if (listener != null) {
                listener.onEnqueued(false);
            }
            return;
        } finally {
            message.release();
        }
        count(QueueStats.Counter.PUBLISH);
        CompletableFuture<Reply> submitted;
        synchronized (publishOrder) {
            submitted = directory
                    .cluster()
                    .submit(
                            key,
                            new Command.Enqueue(
                                    key, directory.publisherId(), ++publishSeq, dedupKey, priority, ttl, encoded));
        }
        submitted.whenComplete((reply, failure) -> {
            if (listener != null) {
                listener.onEnqueued(failure == null
                        && reply instanceof Reply.Enqueued enqueued
                        && enqueued.outcome() != Reply.EnqueueOutcome.REJECTED);
            }
            if (reply instanceof Reply.Enqueued enqueued && enqueued.outcome() == Reply.EnqueueOutcome.DUPLICATE) {
                count(QueueStats.Counter.DEDUPLICATED);
            }
        });
    }

    // ---------------------------------------------------------------- consume

    @Override
    public CompletableFuture<Void> addConsumer(Consumer consumer, boolean exclusive) {
        String id = directory.nodeId() + "/" + CONSUMER_IDS.incrementAndGet() + "/" + consumer.consumerTag();
        LocalConsumer local = new LocalConsumer(id, consumer);
        locals.put(id, local);
        return directory
                .cluster()
                .submit(
                        key,
                        new Command.Checkout(
                                key,
                                id,
                                directory.nodeId(),
                                consumer.autoAck() ? AUTO_ACK_WINDOW : raftCredit(consumer.prefetchCount()),
                                false, // auto-ack deliveries are settled here, once handed over
                                consumer.priority(),
                                exclusive))
                .thenApply(reply -> {
                    if (reply instanceof Reply.NoSuchQueue) {
                        locals.remove(id);
                        throw AmqpException.notFound("no queue '" + name + "' in vhost '" + vhost.name() + "'");
                    }
                    if (reply instanceof Reply.InExclusiveUse) { // as a classic queue answers
                        locals.remove(id);
                        throw AmqpException.accessRefused(
                                "queue '" + name + "' in vhost '" + vhost.name() + "' in exclusive use");
                    }
                    return null;
                });
    }

    /**
     * basic.cancel (or the channel closing): no more deliveries to this consumer. What it was
     * handed stays unacknowledged on its channel, which may still ack it (as with RabbitMQ);
     * deliveries that had not reached the client yet go back at once.
     */
    @Override
    public CompletableFuture<Void> removeConsumer(Consumer consumer) {
        LocalConsumer local = find(consumer);
        if (local == null) {
            return CompletableFuture.completedFuture(null);
        }
        locals.remove(local.id);
        long[] undelivered;
        synchronized (local) {
            undelivered = new long[local.waiting.size()];
            int n = 0;
            for (Delivery waiting : local.waiting) {
                if (holders.remove(waiting.entryId()) != null) {
                    undelivered[n++] = waiting.entryId();
                }
                waiting.message().release();
            }
            local.waiting.clear();
            undelivered = java.util.Arrays.copyOf(undelivered, n);
        }
        if (undelivered.length > 0) { // never reached the client: no failed delivery to count
            directory.cluster().submit(key, new Command.Release(key, local.id, undelivered));
        }
        return directory
                .cluster()
                .submit(key, new Command.Detach(key, local.id))
                .thenApply(reply -> null);
    }

    /**
     * The credit a consumer checks out with in the group: twice its AMQP prefetch, so that while
     * its acks commit (a Raft round trip) the next messages already wait on this node and an ack
     * frees AMQP credit at once; with the group's credit equal to the prefetch, a consumer could
     * take at most one prefetch per commit. What waits here and never reaches the client goes
     * back uncounted ({@link Command.Release}). Unlimited stays unlimited.
     */
    /**
     * The messages an auto-ack consumer may have waiting on its node. Auto-ack consumers check out
     * like manual ones and this node settles each message as it hands it to the channel, so that
     * a backlog is not moved onto the node wholesale and lost when the consumer goes; what still
     * waits then goes back ({@link Command.Release}).
     */
    static final int AUTO_ACK_WINDOW = 512;

    static int raftCredit(int prefetchCount) {
        return prefetchCount == 0 ? 0 : 2 * prefetchCount;
    }

    private LocalConsumer find(Consumer consumer) {
        for (LocalConsumer local : locals.values()) {
            if (local.consumer == consumer) {
                return local;
            }
        }
        return null;
    }

    /** A delivery effect for a consumer here (group apply thread). */
    void onDeliver(Effect.Deliver effect) {
        Message message = QuorumMessages.decode(effect.message());
        if (effect.deliveryCount() > 0) {
            Message counted = DeadLetters.withDeliveryCount(message, effect.deliveryCount());
            message.release();
            message = counted;
        }
        if (effect.consumerId().equals(getConsumerId)) {
            gets.delivered(effect.getToken(), new Delivery(this, effect.msgId(), message, effect.redelivered(), -1));
            return;
        }
        LocalConsumer local = locals.get(effect.consumerId());
        if (local == null) {
            // cancelled here after the group chose it: give it back (a no-op for auto-ack, which
            // the group settled when it chose it)
            message.release();
            directory.cluster().submit(key, new Command.Release(key, effect.consumerId(), new long[] {effect.msgId()}));
            return;
        }
        Delivery delivery = new Delivery(this, effect.msgId(), message, effect.redelivered(), -1);
        holders.put(effect.msgId(), local.id);
        synchronized (local) {
            local.waiting.add(delivery);
            drain(local);
        }
    }

    // local's lock held
    private void drain(LocalConsumer local) {
        boolean autoAck = local.consumer.autoAck();
        long[] handedOver = null;
        int settled = 0;
        Delivery next;
        while ((next = local.waiting.peek()) != null && local.consumer.tryAcquireCredit()) {
            local.waiting.poll();
            count(autoAck ? QueueStats.Counter.DELIVER_NO_ACK : QueueStats.Counter.DELIVER);
            if (next.redelivered()) {
                count(QueueStats.Counter.REDELIVER);
            }
            if (autoAck && holders.remove(next.entryId()) != null) {
                if (handedOver == null) {
                    handedOver = new long[local.waiting.size() + 1];
                }
                handedOver[settled++] = next.entryId();
            }
            local.consumer.deliver(next);
        }
        if (settled > 0) { // auto-ack: a message leaves the queue once it is handed to the channel
            directory
                    .cluster()
                    .submit(key, new Command.Settle(key, local.id, java.util.Arrays.copyOf(handedOver, settled)));
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
        settle(entryIds, count, (consumer, ids) -> new Command.Settle(key, consumer, ids));
    }

    @Override
    public void requeue(long[] entryIds, int count) {
        settle(entryIds, count, (consumer, ids) -> new Command.Return(key, consumer, ids));
    }

    @Override
    public void discard(long[] entryIds, int count) {
        settle(entryIds, count, (consumer, ids) -> new Command.Discard(key, consumer, ids));
    }

    private interface Settlement {
        Command command(String consumerId, long[] msgIds);
    }

    private void settle(long[] entryIds, int count, Settlement settlement) {
        Map<String, long[]> byConsumer = new HashMap<>();
        Map<String, Integer> sizes = new HashMap<>();
        for (int i = 0; i < count; i++) {
            String holder = holders.remove(entryIds[i]);
            if (holder == null) {
                continue; // settled already (or an autoAck delivery)
            }
            long[] ids = byConsumer.computeIfAbsent(holder, h -> new long[count]);
            int size = sizes.merge(holder, 1, Integer::sum);
            ids[size - 1] = entryIds[i];
        }
        byConsumer.forEach((consumer, ids) -> directory
                .cluster()
                .submit(key, settlement.command(consumer, java.util.Arrays.copyOf(ids, sizes.get(consumer)))));
    }

    // ---------------------------------------------------------------- get, purge, delete

    @Override
    public CompletableFuture<GetResult> get(boolean autoAck) {
        long token = nextGetToken();
        CompletableFuture<Reply> submitted = directory
                .cluster()
                .submit(key, new Command.Get(key, getConsumerId, directory.nodeId(), autoAck, token));
        submitted.whenComplete((reply, failure) -> {
            if (failure != null) {
                LOG.debug("queue '{}': basic.get failed; its message goes back if it was taken", name, failure);
                gets.abandon(token);
            }
        });
        return submitted.thenCompose(reply -> {
            if (reply instanceof Reply.GetOk ok) {
                if (!autoAck) {
                    holders.put(ok.msgId(), getConsumerId);
                }
                count(autoAck ? QueueStats.Counter.GET_NO_ACK : QueueStats.Counter.GET);
                return gets.awaitDelivery(token)
                        .thenApply(delivery -> new GetResult(
                                new Delivery(
                                        this,
                                        delivery.entryId(),
                                        delivery.message(),
                                        delivery.redelivered(),
                                        ok.readyLeft()),
                                ok.readyLeft()));
            }
            if (reply instanceof Reply.NoSuchQueue) {
                throw AmqpException.notFound("no queue '" + name + "' in vhost '" + vhost.name() + "'");
            }
            return CompletableFuture.completedFuture(new GetResult(null, 0));
        });
    }

    private static long nextGetToken() {
        long token;
        do {
            token = GET_TOKENS.incrementAndGet();
        } while (token == 0); // 0 means "not a get"
        return token;
    }

    /**
     * Returns the message of a basic.get nobody received to the queue's head, as not delivered
     * (no failed delivery counted). A no-ack get's message left the queue when the get was
     * applied: no-ack is at-most-once, so it is gone (the Release is then a no-op).
     */
    private void giveBack(Delivery delivery) {
        delivery.message().release(); // never in holders: only a get answered GetOk puts it there
        directory.cluster().submit(key, new Command.Release(key, getConsumerId, new long[] {delivery.entryId()}));
    }

    @Override
    public CompletableFuture<Integer> purge() {
        return directory.cluster().submit(key, new Command.Purge(key)).thenApply(QuorumQueue::count);
    }

    private static int count(Reply reply) {
        return reply instanceof Reply.Count c ? (int) c.count() : 0;
    }

    /** One Raft round trip or three per message: meant for DLQ redrive, not bulk transfer. */
    @Override
    public CompletableFuture<Integer> moveTo(MessageQueue target, int max) {
        return moveOneByOne(target, max);
    }

    @Override
    CompletableFuture<Integer> delete(boolean ifUnused, boolean ifEmpty) {
        if (ifUnused && consumers > 0) {
            return CompletableFuture.failedFuture(
                    AmqpException.preconditionFailed("queue '" + name + "' in vhost '" + vhost.name() + "' in use"));
        }
        if (ifEmpty && ready > 0) {
            return CompletableFuture.failedFuture(AmqpException.preconditionFailed(
                    "queue '" + name + "' in vhost '" + vhost.name() + "' is not empty"));
        }
        return directory.cluster().delete(key).thenApply(QuorumQueue::count);
    }

    @Override
    CompletableFuture<Integer> shutdown() {
        for (LocalConsumer local : locals.values()) {
            synchronized (local) {
                for (Delivery waiting : local.waiting) {
                    waiting.message().release();
                }
                local.waiting.clear();
            }
        }
        gets.releaseAll();
        return CompletableFuture.completedFuture(0);
    }

    // ---------------------------------------------------------------- effects

    void onCounts(QueueView view) {
        ready = view.readyCount();
        unacked = view.unackedCount();
        consumers = view.consumerCount();
        synchronized (stats) {
            stats.gauges(unacked, view.readyBytes());
        }
    }

    /**
     * Counts for management. {@link QueueStats} expects one writer; here event loops (publishes,
     * acks) and the group's apply thread (deliveries) both count, so they take turns.
     */
    private void count(QueueStats.Counter counter) {
        count(counter, 1);
    }

    private void count(QueueStats.Counter counter, long n) {
        synchronized (stats) {
            stats.add(counter, n);
        }
    }

    /** Dead-letters a message the group discarded (on the leader only). */
    void onDeadLettered(Effect.DeadLettered effect) {
        synchronized (stats) { // DeadLetters counts it
            deadLetter(effect);
        }
    }

    private void deadLetter(Effect.DeadLettered effect) {
        DeadLetters.deadLetter(
                this,
                features,
                QuorumMessages.decode(effect.message()),
                effect.reason(),
                vhost.runtime().clockMs().getAsLong());
    }

    /** The queue was deleted (on any node): consumers here hear basic.cancel. */
    void onDeleted() {
        deleted = true;
        for (LocalConsumer local : locals.values()) {
            onConsumerCancelled(local.id);
        }
    }

    /** The cluster released this node's consumers (it was cut off): they hear basic.cancel. */
    void onConsumersLost() {
        for (LocalConsumer local : locals.values()) {
            onConsumerCancelled(local.id);
        }
        holders.clear();
    }

    void onConsumerCancelled(String consumerId) {
        LocalConsumer local = locals.remove(consumerId);
        if (local == null) {
            return;
        }
        synchronized (local) {
            for (Delivery waiting : local.waiting) {
                waiting.message().release();
            }
            local.waiting.clear();
        }
        local.consumer.onQueueDeleted();
    }

    @Override
    public String toString() {
        return "quorum queue '" + name + "' in vhost '" + vhost.name() + "'";
    }

    /** Encodes a message as the bytes a quorum queue replicates: the stored header, then the body. */
    static final class QuorumMessages {
        private QuorumMessages() {}

        /**
         * The replicated bytes of {@code message}. A large message's body is read from its blob
         * into the entry: quorum queues do not use the blob store yet, their log holds the body.
         *
         * @throws UncheckedIOException if a large message's blob cannot be read
         */
        static byte[] encode(Message message, long publishedAtMs) {
            if (message.isLarge()) {
                ByteBuf body;
                try {
                    body = message.largeBody()
                            .readAll(PooledByteBufAllocator.DEFAULT, 0, Math.toIntExact(message.bodySize()));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
                try {
                    return encode(message, body, publishedAtMs);
                } finally {
                    body.release();
                }
            }
            return encode(message, message.body(), publishedAtMs);
        }

        private static byte[] encode(Message message, ByteBuf body, long publishedAtMs) {
            int headerBytes = 8
                    + 1
                    + ByteBufUtil.utf8Bytes(message.exchange())
                    + 1
                    + ByteBufUtil.utf8Bytes(message.routingKey())
                    + message.rawProperties().readableBytes();
            byte[] bytes = new byte[4 + headerBytes + body.readableBytes()];
            ByteBuf out = Unpooled.wrappedBuffer(bytes).writerIndex(0);
            out.writeInt(headerBytes);
            DurableState.writeHeader(out, message, publishedAtMs);
            out.writeBytes(body, body.readerIndex(), body.readableBytes());
            return bytes;
        }

        static Message decode(byte[] bytes) {
            ByteBuf in = Unpooled.wrappedBuffer(bytes);
            try {
                ByteBuf header = in.readSlice(in.readInt());
                // the publish time is not used: the state machine keeps its own
                return DurableState.readHeader(header, in.readRetainedSlice(in.readableBytes()))
                        .message();
            } finally {
                in.release();
            }
        }
    }
}
