package dev.courier.server.amqp;

import dev.courier.broker.EnqueueListener;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;

/**
 * Tracks one publish until every queue it was routed to has taken it, then releases the
 * connection's back-pressure charge and, in confirm mode, posts the confirm to the channel.
 *
 * <p>{@link #onEnqueued} is called on queue actor threads, once per target queue.
 */
final class PublishListener implements EnqueueListener {
    private static final AtomicIntegerFieldUpdater<PublishListener> REMAINING =
            AtomicIntegerFieldUpdater.newUpdater(PublishListener.class, "remaining");

    private final AmqpChannel channel;
    private final long seqNo;
    private final long chargeBytes;
    private final long publishedAtNanos;
    private final Transaction.Commit commit;
    private volatile int remaining;
    private volatile boolean rejected;

    /**
     * @param seqNo the publish sequence number in confirm mode, 0 otherwise
     * @param queues how many queues the message was routed to
     */
    PublishListener(AmqpChannel channel, long seqNo, int queues, long chargeBytes, Transaction.Commit commit) {
        this.channel = channel;
        this.commit = commit;
        this.seqNo = seqNo;
        this.chargeBytes = chargeBytes;
        this.remaining = queues;
        this.publishedAtNanos = seqNo > 0 ? System.nanoTime() : 0;
    }

    @Override
    public void onEnqueued(boolean accepted) {
        if (!accepted) {
            rejected = true;
        }
        if (REMAINING.decrementAndGet(this) == 0) {
            channel.connection().releasePublishCharge(chargeBytes);
            if (commit != null) {
                commit.taken();
            }
            if (seqNo > 0) {
                channel.postConfirm(seqNo, !rejected);
                channel.connection()
                        .confirmLatency()
                        .record(System.nanoTime() - publishedAtNanos, java.util.concurrent.TimeUnit.NANOSECONDS);
            }
        }
    }
}
