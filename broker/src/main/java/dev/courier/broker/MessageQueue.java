package dev.courier.broker;

import io.netty.util.collection.LongObjectHashMap;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One queue, run as a single-writer actor: every public operation posts a command to the
 * queue's mailbox; the commands run one at a time on the shared queue executor. Only the
 * mailbox and the published counters are touched by other threads; all other state belongs to
 * whichever executor thread is running the queue at the moment, so no lock is needed.
 *
 * <p>Ready messages are kept in entry-id order: new ones in a FIFO, requeued ones in a small
 * min-heap merged by id, so a requeued message goes back to its original position.
 */
public final class MessageQueue {
    private static final Logger LOG = LoggerFactory.getLogger(MessageQueue.class);

    /** Commands run per turn before the queue yields its thread to other queues. */
    private static final int COMMANDS_PER_TURN = 512;

    private final String name;
    private final VirtualHost vhost;
    private final boolean durable;
    private final boolean exclusive;
    private final boolean autoDelete;
    private final Map<String, Object> arguments;
    private final Object exclusiveOwner;
    private final Executor executor;
    private final Queue<Runnable> mailbox = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean scheduled = new AtomicBoolean();

    // actor state: touched only by the command running now
    private final ArrayDeque<Entry> ready = new ArrayDeque<>();
    private final PriorityQueue<Entry> returned = new PriorityQueue<>((a, b) -> Long.compare(a.id, b.id));
    private final LongObjectHashMap<Entry> unacked = new LongObjectHashMap<>();
    private final List<Consumer> consumers = new ArrayList<>();
    private long nextEntryId = 1;
    private int roundRobin;
    private boolean exclusiveConsumer;
    private boolean hadConsumer;
    private boolean deleted;

    // published for readers on other threads (management, declare fast paths)
    private volatile int messageCount;
    private volatile int consumerCount;

    /** A message in this queue. */
    private static final class Entry {
        final long id;
        final Message message;
        boolean redelivered;

        Entry(long id, Message message) {
            this.id = id;
            this.message = message;
        }
    }

    MessageQueue(
            String name,
            VirtualHost vhost,
            boolean durable,
            boolean exclusive,
            boolean autoDelete,
            Map<String, Object> arguments,
            Object exclusiveOwner,
            Executor executor) {
        this.name = name;
        this.vhost = vhost;
        this.durable = durable;
        this.exclusive = exclusive;
        this.autoDelete = autoDelete;
        this.arguments = arguments;
        this.exclusiveOwner = exclusiveOwner;
        this.executor = executor;
    }

    public String name() {
        return name;
    }

    public VirtualHost vhost() {
        return vhost;
    }

    public boolean durable() {
        return durable;
    }

    public boolean exclusive() {
        return exclusive;
    }

    public boolean autoDelete() {
        return autoDelete;
    }

    public Map<String, Object> arguments() {
        return arguments;
    }

    /** The connection that owns this exclusive queue, or null. */
    public Object exclusiveOwner() {
        return exclusiveOwner;
    }

    /** Ready messages; a recent value, readable from any thread. */
    public int messageCount() {
        return messageCount;
    }

    /** Consumers; a recent value, readable from any thread. */
    public int consumerCount() {
        return consumerCount;
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
            scheduled.set(false); // broker shutting down
        }
    }

    private void runTurn() {
        for (int i = 0; i < COMMANDS_PER_TURN; i++) {
            Runnable command = mailbox.poll();
            if (command == null) {
                break;
            }
            try {
                command.run();
            } catch (RuntimeException e) {
                LOG.error("queue '{}' in vhost '{}': command failed", name, vhost.name(), e);
            }
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
    public void enqueue(Message message, EnqueueListener listener) {
        post(() -> {
            if (deleted) {
                message.release();
                if (listener != null) {
                    listener.onEnqueued(false);
                }
                return;
            }
            ready.add(new Entry(nextEntryId++, message));
            messageCount++;
            if (listener != null) {
                listener.onEnqueued(true);
            }
            dispatch();
        });
    }

    /** Attaches a consumer; fails with 403 when exclusivity forbids it. */
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
            int at = 0;
            while (at < consumers.size() && consumers.get(at).priority() >= consumer.priority()) {
                at++;
            }
            consumers.add(at, consumer);
            consumerCount = consumers.size();
            hadConsumer = true;
            dispatch();
            return null;
        });
    }

    /**
     * Detaches a consumer. Its unacked messages stay unacked (RabbitMQ keeps them pending on the
     * channel). An auto-delete queue is deleted when its last consumer goes.
     */
    public CompletableFuture<Void> removeConsumer(Consumer consumer) {
        return ask(() -> {
            if (consumers.remove(consumer)) {
                consumerCount = consumers.size();
                if (consumers.isEmpty()) {
                    exclusiveConsumer = false;
                    if (autoDelete && hadConsumer && !deleted) {
                        vhost.autoDeleteQueue(this);
                    }
                }
            }
            return null;
        });
    }

    /** Settles delivered messages: they leave the queue. */
    public void ack(long[] entryIds, int count) {
        post(() -> {
            for (int i = 0; i < count; i++) {
                Entry entry = unacked.remove(entryIds[i]);
                if (entry != null) {
                    entry.message.release();
                }
            }
        });
    }

    /** Puts delivered messages back at their original position, marked redelivered. */
    public void requeue(long[] entryIds, int count) {
        post(() -> {
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
                returned.add(entry);
                messageCount++;
            }
            dispatch();
        });
    }

    /** Drops delivered messages that were rejected without requeue. */
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

    /** Hook for dead-lettering (reason "rejected"); for now the message is dropped. */
    private void onDiscarded(Entry entry) {
        entry.message.release();
    }

    /** A consumer may have credit again. */
    public void creditAvailable() {
        post(this::dispatch);
    }

    /** basic.get: the next ready message, if any. */
    public CompletableFuture<GetResult> get(boolean autoAck) {
        return ask(() -> {
            Entry entry = deleted ? null : pollReady();
            if (entry == null) {
                return new GetResult(null, 0);
            }
            Message message = entry.message;
            if (!autoAck) {
                unacked.put(entry.id, entry);
                message.retain();
            }
            int left = messageCount;
            return new GetResult(new Delivery(this, entry.id, message, entry.redelivered, left), left);
        });
    }

    /** Removes the ready messages (not the unacked ones); answers how many. */
    public CompletableFuture<Integer> purge() {
        return ask(this::purgeReady);
    }

    /** The declare-ok answer, computed in queue order. */
    CompletableFuture<QueueDeclareOk> declareOk() {
        return ask(() -> new QueueDeclareOk(name, messageCount, consumers.size()));
    }

    /**
     * Deletes the queue if the conditions hold: cancels consumers, drops ready messages; unacked
     * ones are dropped as they are settled. Answers the number of ready messages dropped.
     */
    CompletableFuture<Integer> delete(boolean ifUnused, boolean ifEmpty) {
        return ask(() -> {
            if (deleted) {
                return 0;
            }
            if (ifUnused && !consumers.isEmpty()) {
                throw AmqpException.preconditionFailed("queue '" + name + "' in vhost '" + vhost.name() + "' in use");
            }
            if (ifEmpty && messageCount > 0) {
                throw AmqpException.preconditionFailed(
                        "queue '" + name + "' in vhost '" + vhost.name() + "' is not empty");
            }
            deleted = true;
            vhost.removeQueue(this);
            for (Consumer consumer : consumers) {
                consumer.onQueueDeleted();
            }
            consumers.clear();
            consumerCount = 0;
            return purgeReady();
        });
    }

    private int purgeReady() {
        int count = 0;
        Entry entry;
        while ((entry = pollReady()) != null) {
            entry.message.release();
            count++;
        }
        return count;
    }

    /** Releases everything; the broker is shutting down. Completes once done. */
    CompletableFuture<Integer> shutdown() {
        return ask(() -> {
            deleted = true;
            unacked.values().forEach(e -> e.message.release());
            unacked.clear();
            return purgeReady();
        });
    }

    // ---------------------------------------------------------------- dispatch (actor thread)

    private Entry peekReady() {
        Entry first = ready.peekFirst();
        Entry back = returned.peek();
        if (back != null && (first == null || back.id < first.id)) {
            return back;
        }
        return first;
    }

    private Entry pollReady() {
        Entry next = peekReady();
        if (next == null) {
            return null;
        }
        if (next == returned.peek()) {
            returned.poll();
        } else {
            ready.pollFirst();
        }
        messageCount--;
        return next;
    }

    /** Hands ready messages to consumers with credit: highest priority first, round-robin among equals. */
    private void dispatch() {
        if (deleted) {
            return;
        }
        while (messageCount > 0 && !consumers.isEmpty()) {
            Consumer consumer = nextConsumerWithCredit();
            if (consumer == null) {
                return;
            }
            Entry entry = pollReady();
            Message message = entry.message;
            if (!consumer.autoAck()) {
                unacked.put(entry.id, entry);
                message.retain();
            }
            consumer.deliver(new Delivery(this, entry.id, message, entry.redelivered, -1));
        }
    }

    private Consumer nextConsumerWithCredit() {
        int size = consumers.size();
        int groupStart = 0;
        while (groupStart < size) {
            int priority = consumers.get(groupStart).priority();
            int groupEnd = groupStart + 1;
            while (groupEnd < size && consumers.get(groupEnd).priority() == priority) {
                groupEnd++;
            }
            int groupSize = groupEnd - groupStart;
            for (int i = 0; i < groupSize; i++) {
                int index = groupStart + Math.floorMod(roundRobin + i, groupSize);
                Consumer candidate = consumers.get(index);
                if (candidate.tryAcquireCredit()) {
                    roundRobin = index - groupStart + 1;
                    return candidate;
                }
            }
            groupStart = groupEnd;
        }
        return null;
    }

    @Override
    public String toString() {
        return "queue '" + name + "' in vhost '" + vhost.name() + "'";
    }
}
