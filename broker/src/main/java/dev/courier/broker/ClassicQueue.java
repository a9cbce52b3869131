package dev.courier.broker;

import dev.courier.broker.ReadyList.Entry;
import dev.courier.store.RecoveredQueue;
import dev.courier.store.StoreQueue;
import io.netty.util.collection.LongObjectHashMap;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A classic queue: its messages live on this node (persistent ones on durable queues in the local
 * message store), and it runs as a single-writer actor: every public operation posts a command to the
 * queue's mailbox; the commands run one at a time on the shared queue executor. Only the
 * mailbox and the published counters are touched by other threads; all other state belongs to
 * whichever executor thread is running the queue at the moment, so no lock is needed.
 *
 * <p>Ready messages are kept in entry-id order: new ones in a FIFO, requeued ones in a small
 * min-heap merged by id, so a requeued message goes back to its original position.
 */
public final class ClassicQueue extends MessageQueue {
    private static final Logger LOG = LoggerFactory.getLogger(ClassicQueue.class);

    /** Commands run per turn before the queue yields its thread to other queues. */
    private static final int COMMANDS_PER_TURN = 512;

    private final Executor executor;
    private final ScheduledExecutorService timer;
    private final LongSupplier clockMs;
    private final DurableState durableState;
    private final StoreQueue storeQueue;
    private final Deduplication dedup;
    private final Queue<Runnable> mailbox = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean scheduled = new AtomicBoolean();

    // actor state: touched only by the command running now
    private final ReadyList ready;
    private final LongObjectHashMap<Entry> unacked = new LongObjectHashMap<>();
    /** Consumers in attach order (the first is the single active one, when that is on). */
    private final List<Consumer> consumers = new ArrayList<>();
    /** The same consumers by priority, highest first, for dispatch. */
    private final List<PriorityGroup> groups = new ArrayList<>();

    private final int memoryWindowMessages;
    private long nextSweepAtMs = Long.MAX_VALUE;
    private long nextEntryId = 1;
    private boolean exclusiveConsumer;
    private boolean hadConsumer;
    private long lastUsedMs;
    private boolean deleted;

    // published for readers on other threads (management, declare fast paths)
    private volatile int messageCount;
    private volatile int consumerCount;
    private volatile int residentCount;
    private final QueueStats stats = new QueueStats();

    ClassicQueue(
            String name,
            VirtualHost vhost,
            boolean durable,
            boolean exclusive,
            boolean autoDelete,
            Map<String, Object> arguments,
            QueueArguments features,
            Object exclusiveOwner,
            QueueRuntime runtime,
            DurableState durableState,
            StoreQueue storeQueue) {
        super(name, vhost, durable, exclusive, autoDelete, arguments, features, exclusiveOwner);
        this.executor = runtime.executor();
        this.timer = runtime.timer();
        this.clockMs = runtime.clockMs();
        this.durableState = durableState;
        this.storeQueue = storeQueue;
        this.memoryWindowMessages = runtime.memoryWindowMessages();
        this.ready = new ReadyList(features.maxPriority());
        this.dedup = features.deduplication()
                ? new Deduplication(features, key -> {
                    if (this.storeQueue != null) {
                        this.durableState.forgetDeduplicationKey(DurableState.storeName(vhost.name(), name), key);
                    }
                })
                : null;
        if (features.expiresMs() > 0) {
            lastUsedMs = clockMs.getAsLong();
            scheduleUnusedCheck(features.expiresMs());
        }
    }

    @Override
    StoreQueue storeQueue() {
        return storeQueue;
    }

    /** Ready messages; a recent value, readable from any thread. */
    @Override
    public int messageCount() {
        return messageCount;
    }

    /** Ready messages whose body is in memory (the rest are paged out to the store); a recent value. */
    @Override
    public int residentMessageCount() {
        return residentCount;
    }

    /** Consumers; a recent value, readable from any thread. */
    @Override
    public int consumerCount() {
        return consumerCount;
    }

    /** Cumulative counters and gauges for management and metrics; readable from any thread. */
    @Override
    public QueueStats stats() {
        return stats;
    }

    /** The attached consumers, as the actor sees them. */
    @Override
    public CompletableFuture<List<Consumer>> consumers() {
        return ask(() -> List.copyOf(consumers));
    }

    // ---------------------------------------------------------------- mailbox

    private void post(Runnable command) {
        mailbox.add(command);
        if (scheduled.compareAndSet(false, true)) {
            schedule();
        }
    }

    private void schedule() {
        try {
            executor.execute(this::runTurn);
        } catch (RejectedExecutionException e) {
            drainAfterShutdown();
        }
    }

    /**
     * The executor is gone (broker closed): run what is left here, so no command and no message
     * reference is stranded in the mailbox. The caller holds the scheduled flag, so no other
     * thread runs this queue meanwhile.
     */
    private void drainAfterShutdown() {
        do {
            Runnable command;
            while ((command = mailbox.poll()) != null) {
                run(command);
            }
            scheduled.set(false);
        } while (!mailbox.isEmpty() && scheduled.compareAndSet(false, true));
    }

    private void run(Runnable command) {
        try {
            command.run();
        } catch (Throwable e) { // a failed command must not wedge the queue: its turn would never end
            LOG.error("{}: command failed", this, e);
        }
    }

    private void runTurn() {
        for (int i = 0; i < COMMANDS_PER_TURN; i++) {
            Runnable command = mailbox.poll();
            if (command == null) {
                break;
            }
            run(command);
        }
        if (!mailbox.isEmpty()) {
            schedule(); // more work: go to the back of the executor's line so other queues run
            return;
        }
        scheduled.set(false);
        // a command posted between the last poll and clearing the flag must not be stranded
        if (!mailbox.isEmpty() && scheduled.compareAndSet(false, true)) {
            schedule();
        }
    }

    private <T> CompletableFuture<T> ask(java.util.function.Supplier<T> query) {
        CompletableFuture<T> result = new CompletableFuture<>();
        post(() -> {
            try {
                result.complete(query.get());
            } catch (RuntimeException e) {
                result.completeExceptionally(e);
            }
        });
        return result;
    }

    // ---------------------------------------------------------------- operations

    /**
     * Adds a message; the queue owns the reference the caller passes in. The listener (nullable)
     * is told on the actor thread whether the queue took it.
     */
    @Override
    public void enqueue(Message message, EnqueueListener listener) {
        enqueue(message, listener, 0, null);
    }

    /**
     * Adds a message already submitted to the store under {@code storeId}; the listener hears
     * "taken" only once {@code stored} (the fsync) completes, so a confirm means it is on disk.
     */
    void enqueue(Message message, EnqueueListener listener, long storeId, CompletableFuture<Void> stored) {
        post(() -> {
            if (deleted) {
                message.release();
                if (listener != null) {
                    listener.onEnqueued(false);
                }
                return;
            }
            long nowMs = clockMs.getAsLong();
            String dedupKey = dedup == null ? null : dedup.keyOf(message);
            if (dedupKey != null && dedup.isDuplicate(dedupKey, nowMs)) {
                dropDuplicate(message, listener, storeId, stored);
                return;
            }
            stats.increment(QueueStats.Counter.PUBLISH);
            Entry entry = new Entry(nextEntryId++, message, levelOf(message), expiryOf(message, nowMs));
            entry.storeId = storeId;
            if (wouldOverflow(entry) && features.overflow() != QueueArguments.Overflow.DROP_HEAD) {
                unstore(entry);
                if (features.overflow() == QueueArguments.Overflow.REJECT_PUBLISH_DLX) {
                    DeadLetters.deadLetter(this, features, message, "maxlen", nowMs);
                } else {
                    message.release();
                }
                if (listener != null) {
                    listener.onEnqueued(false);
                }
                return;
            }
            if (dedupKey != null) { // only once it is really in the queue: a nacked publish may be retried
                dedup.remember(dedupKey, nowMs);
                if (storeQueue != null) {
                    durableState.recordDeduplicationKey(DurableState.storeName(vhost.name(), name), dedupKey, nowMs);
                }
            }
            addReady(entry, false);
            if (stored != null) {
                pageOutWhenStored(entry, stored);
            }
            if (listener != null) {
                if (stored == null) {
                    listener.onEnqueued(true);
                } else {
                    stored.whenComplete((ignored, failure) -> listener.onEnqueued(failure == null));
                }
            }
            while (overLimit()) {
                deadLetter(ready.poll(), "maxlen", nowMs);
            }
            published();
            dispatch();
        });
    }

    /**
     * A message whose key is in the deduplication window: dropped, but confirmed (after its
     * store write, when it was persisted) so that a retrying publisher stops retrying.
     */
    private void dropDuplicate(
            Message message, EnqueueListener listener, long storeId, CompletableFuture<Void> stored) {
        stats.increment(QueueStats.Counter.DEDUPLICATED);
        if (storeId != 0) {
            durableState.remove(storeQueue, storeId);
        }
        message.release();
        if (listener != null) {
            if (stored == null) {
                listener.onEnqueued(true);
            } else {
                stored.whenComplete((ignored, failure) -> listener.onEnqueued(failure == null));
            }
        }
    }

    /** Puts back a deduplication key recovered from the store, with the time it was enqueued. */
    void restoreDeduplicationKey(String key, long atMs) {
        post(() -> {
            if (dedup != null) {
                dedup.remember(key, atMs);
            } else if (storeQueue != null) {
                durableState.forgetDeduplicationKey(DurableState.storeName(vhost.name(), name), key);
            }
        });
    }

    /**
     * Puts back a message recovered from the store at start-up; its TTL counts from when it was
     * published, and its failed deliveries count towards x-delivery-limit as before the restart.
     */
    void restore(Message message, long storeId, boolean redelivered, int failedDeliveries, long publishedAtMs) {
        post(() -> {
            Entry entry = new Entry(nextEntryId++, message, levelOf(message), expiryOf(message, publishedAtMs));
            entry.storeId = storeId;
            entry.redelivered = redelivered;
            entry.failedDeliveries = failedDeliveries;
            if (dedup != null) {
                // a message still queued is in the window even if its key record did not reach the
                // disk before a crash (the key is written just after the message, not with it)
                String key = dedup.keyOf(message);
                if (key != null && !dedup.contains(key)) {
                    dedup.remember(key, publishedAtMs);
                }
            }
            addReady(entry, false);
            if (ready.size() > memoryWindowMessages) {
                ready.pagedOut(entry); // already on disk: keep only the index entry
            }
            published();
        });
    }

    /**
     * Puts back stored messages at start-up without reading them: entries {@code from} to {@code
     * to} (exclusive) of {@code recovered} start paged out, as if paged out at run time, and each
     * message is read when it is needed (delivery, dead-lettering, a move). What the queue needs
     * meanwhile comes from the attributes stored with it ({@link StoredAttributes}, which must be
     * set) and its stored size.
     *
     * @param failedDeliveries the failed deliveries of each entry from {@code from} on, or null
     *     for none
     */
    void restorePagedOut(RecoveredQueue recovered, int from, int to, int[] failedDeliveries) {
        post(() -> {
            for (int i = from; i < to; i++) {
                long attributes = recovered.attributes(i);
                int priority = StoredAttributes.priority(attributes);
                Entry entry = new Entry(
                        nextEntryId++,
                        features.maxPriority() > 0 ? ready.levelOf(priority) : 0,
                        recovered.storedBytes(i) - StoredAttributes.headerBytes(attributes),
                        StoredAttributes.perMessageTtl(attributes),
                        StoredAttributes.expiresAtMs(attributes));
                entry.storeId = recovered.messageId(i);
                entry.redelivered = recovered.redelivered(i);
                entry.failedDeliveries = failedDeliveries == null ? 0 : failedDeliveries[i - from];
                addReady(entry, false);
            }
            published();
        });
    }

    /** Ready messages kept in memory; the rest wait on disk ({@code queue_memory_window}). */
    int memoryWindowMessages() {
        return memoryWindowMessages;
    }

    /** The entry left the queue for good: remove it from the store too. */
    private void unstore(Entry entry) {
        unstore(entry, false);
    }

    /** @param removedFromStore a transaction's record already removed it (see {@link #ackCommitted}) */
    private void unstore(Entry entry, boolean removedFromStore) {
        if (entry.storeId != 0) {
            if (entry.failedDeliveries > 0 && features.deliveryLimit() >= 0) {
                durableState.forgetFailedDeliveries(DurableState.storeName(vhost.name(), name), entry.storeId);
            }
            if (!removedFromStore) {
                durableState.remove(storeQueue, entry.storeId);
            }
            entry.storeId = 0;
        }
    }

    /** The priority level; the properties are only decoded when the queue and message have priorities. */
    private int levelOf(Message message) {
        return features.maxPriority() > 0 && message.hasPriority()
                ? ready.levelOf(message.properties().priority())
                : 0;
    }

    private long expiryOf(Message message, long nowMs) {
        return expiryOf(message, features.messageTtlMs(), nowMs);
    }

    /**
     * When a message entering at {@code fromMs} a queue whose x-message-ttl is {@code queueTtlMs}
     * (-1 for none) expires, in ms since the epoch; 0 = never.
     */
    static long expiryOf(Message message, long queueTtlMs, long fromMs) {
        long ttl = queueTtlMs;
        long perMessage = message.expirationMs();
        if (perMessage >= 0 && (ttl < 0 || perMessage < ttl)) {
            ttl = perMessage;
        }
        return ttl < 0 ? 0 : fromMs + ttl;
    }

    private boolean wouldOverflow(Entry entry) {
        return (features.maxLength() >= 0 && ready.size() + 1 > features.maxLength())
                || (features.maxLengthBytes() >= 0 && ready.bytes() + entry.bodyBytes > features.maxLengthBytes());
    }

    private boolean overLimit() {
        return ready.size() > 0
                && ((features.maxLength() >= 0 && ready.size() > features.maxLength())
                        || (features.maxLengthBytes() >= 0 && ready.bytes() > features.maxLengthBytes()));
    }

    private void addReady(Entry entry, boolean returned) {
        if (returned) {
            ready.addReturned(entry);
        } else {
            ready.add(entry);
        }
        if (entry.expiresAtMs > 0) {
            scheduleSweep(entry.expiresAtMs + 1);
        }
    }

    private void deadLetter(Entry entry, String reason, long nowMs) {
        Message message = materialize(entry);
        unstore(entry);
        if (message != null) {
            DeadLetters.deadLetter(this, features, message, reason, nowMs);
        }
    }

    /** Publishes the counters other threads read. */
    private void published() {
        messageCount = ready.size();
        residentCount = ready.resident();
        stats.gauges(unacked.size(), ready.bytes());
    }

    /** Attaches a consumer; fails with 403 when exclusivity forbids it. */
    @Override
    public CompletableFuture<Void> addConsumer(Consumer consumer, boolean exclusive) {
        return ask(() -> {
            if (deleted) {
                throw AmqpException.notFound("no queue '" + name + "' in vhost '" + vhost.name() + "'");
            }
            if (exclusiveConsumer || (exclusive && !consumers.isEmpty())) {
                throw AmqpException.accessRefused(
                        "queue '" + name + "' in vhost '" + vhost.name() + "' in exclusive use");
            }
            exclusiveConsumer = exclusive;
            consumers.add(consumer);
            PriorityGroup.join(groups, consumer);
            consumerCount = consumers.size();
            hadConsumer = true;
            lastUsedMs = clockMs.getAsLong();
            dispatch();
            return null;
        });
    }

    /**
     * Detaches a consumer. Its unacked messages stay unacked (RabbitMQ keeps them pending on the
     * channel). An auto-delete queue is deleted when its last consumer goes.
     */
    @Override
    public CompletableFuture<Void> removeConsumer(Consumer consumer) {
        return ask(() -> {
            int index = consumers.indexOf(consumer);
            if (index >= 0) {
                consumers.remove(index);
                PriorityGroup.leave(groups, consumer);
                consumerCount = consumers.size();
                if (index == 0 && features.singleActiveConsumer()) {
                    dispatch(); // the next consumer is the active one now: it takes the ready messages
                }
                if (consumers.isEmpty()) {
                    exclusiveConsumer = false;
                    if (autoDelete && hadConsumer && !deleted) {
                        deleteNow(false, false); // at once: a declare queued behind must see it gone
                    }
                }
            }
            return null;
        });
    }

    /** Settles delivered messages: they leave the queue. */
    @Override
    public void ack(long[] entryIds, int count) {
        post(() -> acked(entryIds, count, false));
    }

    @Override
    public void ackCommitted(long[] entryIds, int count) {
        post(() -> acked(entryIds, count, true));
    }

    private void acked(long[] entryIds, int count, boolean removedFromStore) {
        for (int i = 0; i < count; i++) {
            Entry entry = unacked.remove(entryIds[i]);
            if (entry != null) {
                stats.increment(QueueStats.Counter.ACK);
                unstore(entry, removedFromStore);
                entry.message.release();
            }
        }
        stats.gauges(unacked.size(), ready.bytes());
    }

    /**
     * Puts delivered messages back at their original position, marked redelivered; a message that
     * failed more than x-delivery-limit times is dead-lettered (reason delivery_limit) instead.
     */
    @Override
    public void requeue(long[] entryIds, int count) {
        post(() -> {
            long nowMs = clockMs.getAsLong();
            for (int i = 0; i < count; i++) {
                Entry entry = unacked.remove(entryIds[i]);
                if (entry == null) {
                    continue;
                }
                if (deleted) {
                    entry.message.release();
                    continue;
                }
                entry.redelivered = true;
                entry.failedDeliveries++;
                if (features.deliveryLimit() >= 0 && entry.failedDeliveries > features.deliveryLimit()) {
                    unstore(entry);
                    DeadLetters.deadLetter(this, features, entry.message, "delivery_limit", nowMs);
                    continue;
                }
                if (entry.storeId != 0 && features.deliveryLimit() >= 0) {
                    durableState.recordFailedDeliveries(
                            DurableState.storeName(vhost.name(), name), entry.storeId, entry.failedDeliveries);
                }
                addReady(entry, true);
            }
            published();
            dispatch();
        });
    }

    /** Drops delivered messages that were rejected without requeue. */
    @Override
    public void discard(long[] entryIds, int count) {
        post(() -> {
            for (int i = 0; i < count; i++) {
                Entry entry = unacked.remove(entryIds[i]);
                if (entry != null) {
                    onDiscarded(entry);
                }
            }
        });
    }

    /** reject/nack without requeue: dead-lettered with reason "rejected" when the queue has a DLX. */
    private void onDiscarded(Entry entry) {
        unstore(entry);
        DeadLetters.deadLetter(this, features, entry.message, "rejected", clockMs.getAsLong());
    }

    /** A consumer may have credit again. */
    @Override
    public void creditAvailable() {
        post(this::dispatch);
    }

    /** basic.get: the next ready message, if any. */
    @Override
    public CompletableFuture<GetResult> get(boolean autoAck) {
        return ask(() -> {
            if (deleted) {
                throw AmqpException.notFound("no queue '" + name + "' in vhost '" + vhost.name() + "'");
            }
            lastUsedMs = clockMs.getAsLong();
            Entry entry = pollLive();
            published();
            if (entry == null) {
                return new GetResult(null, 0);
            }
            int left = messageCount;
            stats.increment(autoAck ? QueueStats.Counter.GET_NO_ACK : QueueStats.Counter.GET);
            GetResult result = new GetResult(handOut(entry, autoAck, left), left);
            stats.gauges(unacked.size(), ready.bytes());
            return result;
        });
    }

    /** Removes the ready messages (not the unacked ones); answers how many. */
    @Override
    public CompletableFuture<Integer> purge() {
        return ask(() -> purgeReady(true));
    }

    /** The declare-ok answer, computed in queue order; null when the queue was deleted meanwhile. */
    @Override
    CompletableFuture<QueueDeclareOk> declareOk() {
        return ask(() -> {
            if (deleted) {
                return null;
            }
            lastUsedMs = clockMs.getAsLong();
            return new QueueDeclareOk(name, ready.size(), consumers.size());
        });
    }

    /**
     * Deletes the queue if the conditions hold: cancels consumers, drops ready messages; unacked
     * ones are dropped as they are settled. Answers the number of ready messages dropped.
     */
    @Override
    CompletableFuture<Integer> delete(boolean ifUnused, boolean ifEmpty) {
        return ask(() -> deleteNow(ifUnused, ifEmpty));
    }

    /** The deletion itself, on the actor thread; see {@link #delete}. */
    private int deleteNow(boolean ifUnused, boolean ifEmpty) {
        if (deleted) {
            return 0;
        }
        if (ifUnused && !consumers.isEmpty()) {
            throw AmqpException.preconditionFailed("queue '" + name + "' in vhost '" + vhost.name() + "' in use");
        }
        if (ifEmpty && ready.size() > 0) {
            throw AmqpException.preconditionFailed("queue '" + name + "' in vhost '" + vhost.name() + "' not empty");
        }
        deleted = true;
        vhost.removeQueue(this);
        for (Consumer consumer : consumers) {
            try {
                consumer.onQueueDeleted();
            } catch (RuntimeException e) {
                LOG.error("{}: consumer '{}' failed on deletion", this, consumer.consumerTag(), e);
            }
        }
        consumers.clear();
        groups.clear();
        consumerCount = 0;
        return purgeReady(false); // removeQueue above deleted the queue's store entries
    }

    /** Drops the ready messages; {@code unstore} false when the whole queue leaves the store anyway. */
    private int purgeReady(boolean unstore) {
        int count = 0;
        Entry entry;
        while ((entry = ready.poll()) != null) {
            if (unstore) {
                unstore(entry);
            }
            releaseIfResident(entry);
            count++;
        }
        published();
        return count;
    }

    /**
     * Moves up to {@code max} ready messages to another queue, in order (DLQ redrive). Answers how
     * many were moved. The messages keep their properties and headers (x-death included).
     */
    @Override
    public CompletableFuture<Integer> moveTo(MessageQueue target, int max) {
        return ask(() -> {
            int moved = 0;
            Entry entry;
            while (moved < max && (entry = ready.poll()) != null) {
                if (materialize(entry) == null) {
                    continue;
                }
                if (entry.storeId != 0 && target instanceof ClassicQueue stored && stored.storeQueue != null) {
                    // enter it on the target before leaving the source, so it stays live on disk
                    long storeId = entry.storeId;
                    stored.enqueue(
                            entry.message, null, storeId, durableState.store().enqueue(stored.storeQueue, storeId));
                    durableState.remove(storeQueue, storeId);
                } else {
                    unstore(entry);
                    target.enqueue(entry.message, null);
                }
                moved++;
            }
            published();
            return moved;
        });
    }

    /** Releases everything; the broker is shutting down. Completes once done. */
    @Override
    CompletableFuture<Integer> shutdown() {
        return ask(() -> {
            deleted = true;
            unacked.values().forEach(e -> e.message.release());
            unacked.clear();
            return purgeReady(false); // shutting down: what is stored stays stored
        });
    }

    // ---------------------------------------------------------------- dispatch (actor thread)

    /** The next ready entry if it has not expired; expired ones met on the way are dead-lettered. */
    private Entry peekLive() {
        Entry entry;
        long nowMs = 0;
        while ((entry = ready.peek()) != null && entry.expiresAtMs > 0) {
            if (nowMs == 0) {
                nowMs = clockMs.getAsLong();
            }
            if (nowMs <= entry.expiresAtMs) {
                return entry;
            }
            deadLetter(ready.poll(), "expired", nowMs);
        }
        if (entry != null && materialize(entry) == null) {
            ready.poll(); // unreadable from disk (logged): it cannot be delivered
            unstore(entry);
            return peekLive();
        }
        return entry;
    }

    /** Like {@link #peekLive()}, but takes the entry. */
    private Entry pollLive() {
        Entry entry;
        long nowMs = 0;
        while ((entry = ready.poll()) != null) {
            if (entry.expiresAtMs > 0) {
                if (nowMs == 0) {
                    nowMs = clockMs.getAsLong();
                }
                if (nowMs > entry.expiresAtMs) {
                    deadLetter(entry, "expired", nowMs);
                    continue;
                }
            }
            if (materialize(entry) == null) {
                unstore(entry);
                continue;
            }
            return entry;
        }
        return null;
    }

    // ---------------------------------------------------------------- paging (actor thread)

    /**
     * The entry's message, read back from the store if it was paged out; null (logged) if it
     * cannot be read. A blocking positional read on the queue thread, never on an event loop.
     */
    private Message materialize(Entry entry) {
        if (entry.message == null) {
            try {
                entry.message = durableState.load(entry.storeId);
            } catch (java.io.IOException e) {
                LOG.error("{}: cannot read stored message {}", this, entry.storeId, e);
            }
            if (entry.message != null && entry.ready) {
                ready.pagedIn();
            }
        }
        return entry.message;
    }

    private void releaseIfResident(Entry entry) {
        if (entry.message != null) {
            entry.message.release();
            entry.message = null;
        }
    }

    /**
     * Keeps at most the memory window of ready messages in memory: a stored message enqueued
     * beyond it drops its body from the heap once the store has it (the entry keeps ~64 bytes:
     * ids, priority, size, expiry). It is read back when it reaches the head.
     */
    private void pageOutWhenStored(Entry entry, CompletableFuture<Void> stored) {
        if (ready.size() <= memoryWindowMessages) {
            return;
        }
        stored.thenRun(() -> post(() -> {
            if (entry.ready && entry.message != null && ready.size() > memoryWindowMessages) {
                ready.pagedOut(entry);
                published();
            }
        }));
    }

    /** Gives an entry to a consumer or basic.get: unacked unless auto-ack; with x-delivery-count when due. */
    private Delivery handOut(Entry entry, boolean autoAck, long messageCountAfter) {
        Message message = entry.message; // callers materialized it
        if (entry.redelivered) {
            stats.increment(QueueStats.Counter.REDELIVER);
        }
        if (!autoAck) {
            unacked.put(entry.id, entry);
            message.retain();
            if (entry.storeId != 0 && !entry.redelivered) {
                durableState.markDelivered(storeQueue, entry.storeId); // the redelivered flag survives a restart
            }
        } else {
            unstore(entry);
        }
        if (entry.failedDeliveries > 0 && features.deliveryLimit() >= 0) {
            Message counted = DeadLetters.withDeliveryCount(message, entry.failedDeliveries);
            message.release(); // the consumer gets the copy instead
            message = counted;
        }
        return new Delivery(this, entry.id, message, entry.redelivered, messageCountAfter, entry.storeId);
    }

    // ---------------------------------------------------------------- expiry (actor thread)

    /** x-expires: the queue goes away after being unused (no consumer, get or redeclare) this long. */
    private void scheduleUnusedCheck(long delayMs) {
        try {
            timer.schedule(() -> post(this::checkUnused), Math.max(1, delayMs), TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            // broker shutting down
        }
    }

    private void checkUnused() {
        if (deleted) {
            return;
        }
        long nowMs = clockMs.getAsLong();
        if (!consumers.isEmpty()) {
            lastUsedMs = nowMs;
            scheduleUnusedCheck(features.expiresMs());
        } else if (nowMs - lastUsedMs >= features.expiresMs()) {
            LOG.debug("{} expired after {} ms unused", this, features.expiresMs());
            deleteNow(false, false);
        } else {
            scheduleUnusedCheck(lastUsedMs + features.expiresMs() - nowMs);
        }
    }

    private void scheduleSweep(long atMs) {
        if (atMs >= nextSweepAtMs) {
            return;
        }
        nextSweepAtMs = atMs;
        long delayMs = Math.max(0, atMs - clockMs.getAsLong());
        try {
            timer.schedule(() -> post(this::sweep), delayMs, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            // broker shutting down
        }
    }

    /**
     * Removes expired messages wherever they are, so they leave even when nobody consumes. Costs
     * the number of non-empty priority levels plus the expired messages, not the queue's depth
     * (see {@link ReadyList}), so running it every 10 ms on a deep queue is cheap.
     */
    private void sweep() {
        nextSweepAtMs = Long.MAX_VALUE;
        if (deleted) {
            return;
        }
        long nowMs = clockMs.getAsLong();
        ready.removeExpired(nowMs - 1, entry -> deadLetter(entry, "expired", nowMs));
        published();
        long next = ready.earliestExpiry();
        if (next > 0) {
            scheduleSweep(Math.max(next + 1, nowMs + 10));
        }
    }

    /** Hands ready messages to consumers with credit: highest priority first, round-robin among equals. */
    private void dispatch() {
        if (deleted) {
            return;
        }
        while (!consumers.isEmpty() && peekLive() != null) {
            Consumer consumer = nextConsumerWithCredit();
            if (consumer == null) {
                break;
            }
            Entry entry = ready.poll(); // the live entry just peeked: nothing ran in between
            stats.increment(consumer.autoAck() ? QueueStats.Counter.DELIVER_NO_ACK : QueueStats.Counter.DELIVER);
            consumer.deliver(handOut(entry, consumer.autoAck(), -1));
        }
        published();
    }

    private Consumer nextConsumerWithCredit() {
        if (features.singleActiveConsumer()) {
            Consumer active = consumers.get(0);
            return active.tryAcquireCredit() ? active : null;
        }
        for (int i = 0, n = groups.size(); i < n; i++) {
            Consumer consumer = groups.get(i).nextWithCredit();
            if (consumer != null) {
                return consumer;
            }
        }
        return null;
    }

    /** The consumers of one priority, offered messages round-robin. Actor-owned. */
    private static final class PriorityGroup {
        final int priority;
        final List<Consumer> members = new ArrayList<>(2);
        /** The member offered the next message first. */
        int next;

        PriorityGroup(int priority) {
            this.priority = priority;
        }

        /** The first member from {@code next} on that takes a unit of credit; it goes last. */
        Consumer nextWithCredit() {
            int size = members.size();
            for (int i = 0; i < size; i++) {
                int index = next + i < size ? next + i : next + i - size;
                Consumer candidate = members.get(index);
                if (candidate.tryAcquireCredit()) {
                    next = index + 1 == size ? 0 : index + 1;
                    return candidate;
                }
            }
            return null;
        }

        /** Adds a consumer behind the others of its priority; groups stay highest first. */
        static void join(List<PriorityGroup> groups, Consumer consumer) {
            int at = 0;
            while (at < groups.size() && groups.get(at).priority > consumer.priority()) {
                at++;
            }
            if (at == groups.size() || groups.get(at).priority != consumer.priority()) {
                groups.add(at, new PriorityGroup(consumer.priority()));
            }
            groups.get(at).members.add(consumer);
        }

        static void leave(List<PriorityGroup> groups, Consumer consumer) {
            for (int i = 0; i < groups.size(); i++) {
                PriorityGroup group = groups.get(i);
                int index = group.members.indexOf(consumer);
                if (index >= 0) {
                    group.members.remove(index);
                    if (group.members.isEmpty()) {
                        groups.remove(i);
                    } else if (index < group.next || group.next >= group.members.size()) {
                        group.next = index < group.next ? group.next - 1 : 0;
                    }
                    return;
                }
            }
        }
    }

    @Override
    public String toString() {
        return "queue '" + name + "' in vhost '" + vhost.name() + "'";
    }
}
