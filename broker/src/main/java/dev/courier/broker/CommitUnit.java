package dev.courier.broker;

import dev.courier.store.StoreTransaction;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * What one AMQP tx.commit writes to the node's store as a single unit: the removals of the
 * persistent messages it acknowledges and the records of the persistent messages it publishes.
 * After a crash either all of them are on disk or none is, so "ack the input and publish the
 * output" is never half done. The publishes reach their queues only once the unit is submitted,
 * so nothing a queue writes about them can precede their record in the log.
 *
 * <p>Covers classic durable queues on this node. Quorum queues replicate their own log: their
 * part of a transaction is applied at commit, message by message. Rejections (nack, reject) are
 * applied by their queues after the unit, as without a transaction.
 *
 * <p>Used by one thread (the channel's event loop): {@link VirtualHost#beginCommit()}, then
 * {@link #remove} and {@link VirtualHost#enqueue(Message, List, EnqueueListener, CommitUnit)},
 * then {@link #submit()} or {@link #discard()} exactly once.
 */
public final class CommitUnit {
    private final DurableState durable;
    private final StoreTransaction transaction;
    private final CompletableFuture<Void> written = new CompletableFuture<>();
    private final List<HandOver> handOvers = new ArrayList<>();
    private final List<CompletableFuture<Void>> alsoDurable = new ArrayList<>();
    private boolean submitted;

    CommitUnit(DurableState durable) {
        this.durable = durable;
        this.transaction = durable == null ? null : new StoreTransaction();
    }

    /**
     * Adds the store removal of an acknowledged delivery ({@link Delivery#storeId()} not 0); the
     * queue must then be told with {@link MessageQueue#ackCommitted}. Ignored for a delivery that
     * is not in the store.
     */
    public void remove(MessageQueue queue, long storeId) {
        checkOpen();
        if (transaction != null && storeId != 0 && queue.storeQueue() != null) {
            transaction.remove(queue.storeQueue(), storeId);
        }
    }

    /** The transaction persistent publishes join, or null without a store. */
    StoreTransaction transaction() {
        return transaction;
    }

    /** Something else the unit is durable only with: the fsync of a large message's blob. */
    void alsoWaitFor(CompletableFuture<Void> durable) {
        checkOpen();
        alsoDurable.add(durable);
    }

    /** Completes once the unit is durable (at once for a unit without records). */
    CompletableFuture<Void> written() {
        return written;
    }

    /** A publish's way into one of its queues, taken once the unit is submitted. */
    private record HandOver(MessageQueue target, Message message, EnqueueListener listener, long storeId) {}

    /**
     * Gives {@code message} to {@code target} once the unit is submitted; takes over the caller's
     * reference. {@code storeId} is the message's id in the unit, or 0 if not stored.
     */
    void handOverLater(MessageQueue target, Message message, EnqueueListener listener, long storeId) {
        checkOpen();
        handOvers.add(new HandOver(target, message, listener, storeId));
    }

    /** For a commit that failed before {@link #submit()}: writes nothing, drops what was held. */
    public void discard() {
        checkOpen();
        submitted = true;
        if (transaction != null) {
            transaction.discard();
        }
        for (HandOver handOver : handOvers) {
            handOver.message().release();
            if (handOver.listener() != null) {
                handOver.listener().onEnqueued(false); // refused: lets the publisher release what it charged
            }
        }
        handOvers.clear();
    }

    /**
     * Writes the unit, then hands its publishes to their queues.
     *
     * @return completes once the unit is durable, or fails if the store could not write it
     */
    public CompletableFuture<Void> submit() {
        checkOpen();
        submitted = true;
        CompletableFuture<Void> write =
                transaction == null ? CompletableFuture.completedFuture(null) : durable.commit(transaction);
        if (!alsoDurable.isEmpty()) {
            alsoDurable.add(write);
            write = CompletableFuture.allOf(alsoDurable.toArray(new CompletableFuture<?>[0]));
        }
        write.whenComplete((ignored, error) -> {
            if (error == null) {
                written.complete(null);
            } else {
                written.completeExceptionally(error);
            }
        });
        for (HandOver h : handOvers) {
            VirtualHost.handOver(h.target(), h.message(), h.listener(), h.storeId(), h.storeId() == 0 ? null : written);
        }
        handOvers.clear();
        return written;
    }

    private void checkOpen() {
        if (submitted) {
            throw new IllegalStateException("commit unit already submitted");
        }
    }
}
