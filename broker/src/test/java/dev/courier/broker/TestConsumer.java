package dev.courier.broker;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A consumer as the server would implement one, for tests: credit is a counter the test sets
 * ({@link #UNLIMITED} by default); deliveries are recorded with their bodies and their message
 * reference is released at once, as the server does after writing a delivery.
 */
class TestConsumer implements Consumer {
    static final int UNLIMITED = -1;

    final String tag;
    final boolean autoAck;
    final int priority;
    final AtomicInteger credit = new AtomicInteger(UNLIMITED);
    final List<Delivery> deliveries = new CopyOnWriteArrayList<>();
    final List<String> bodies = new CopyOnWriteArrayList<>();
    volatile boolean cancelled;
    /** Counts creditless refusals, to check that the queue stops asking. */
    final AtomicInteger refusals = new AtomicInteger();

    TestConsumer(String tag, boolean autoAck, int priority) {
        this.tag = tag;
        this.autoAck = autoAck;
        this.priority = priority;
    }

    /** A manual-ack consumer of priority 0 with unlimited credit. */
    static TestConsumer manual(String tag) {
        return new TestConsumer(tag, false, 0);
    }

    /** An auto-ack consumer of priority 0 with unlimited credit. */
    static TestConsumer autoAck(String tag) {
        return new TestConsumer(tag, true, 0);
    }

    TestConsumer withCredit(int units) {
        credit.set(units);
        return this;
    }

    @Override
    public String consumerTag() {
        return tag;
    }

    @Override
    public boolean autoAck() {
        return autoAck;
    }

    @Override
    public int priority() {
        return priority;
    }

    @Override
    public boolean tryAcquireCredit() {
        while (true) {
            int units = credit.get();
            if (units == UNLIMITED) {
                return true;
            }
            if (units == 0) {
                refusals.incrementAndGet();
                return false;
            }
            if (credit.compareAndSet(units, units - 1)) {
                return true;
            }
        }
    }

    @Override
    public void deliver(Delivery delivery) {
        bodies.add(TestMessages.body(delivery));
        deliveries.add(delivery);
        delivery.message().release();
    }

    @Override
    public void onQueueDeleted() {
        cancelled = true;
    }

    /** The entry ids of every delivery so far, for ack/requeue/discard. */
    long[] entryIds() {
        return deliveries.stream().mapToLong(Delivery::entryId).toArray();
    }

    long entryId(int delivery) {
        return deliveries.get(delivery).entryId();
    }

    @Override
    public String toString() {
        return tag;
    }
}
