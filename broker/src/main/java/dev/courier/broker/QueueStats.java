package dev.courier.broker;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * A queue's cumulative message counters, written only by the queue's actor thread and readable
 * from any thread (management, metrics). Single writer, so an increment is a plain read plus a
 * release store ({@code lazySet}): no lock, no CAS, no fence on the hot path.
 *
 * <p>Counters only grow; rates are differences between two samples, taken by the reader.
 */
public final class QueueStats {
    /** The counters, named as in RabbitMQ's management API {@code message_stats}. */
    public enum Counter {
        /** Messages that entered the queue (publishes routed to it, dead-letters, moves). */
        PUBLISH("publish", false),
        /** Deliveries to consumers that ack. */
        DELIVER("deliver", true),
        /** Deliveries to no-ack consumers. */
        DELIVER_NO_ACK("deliver_no_ack", true),
        /** basic.get answers that must be acked. */
        GET("get", true),
        /** basic.get answers in no-ack mode. */
        GET_NO_ACK("get_no_ack", true),
        /** Deliveries and gets of messages delivered before (the redelivered flag set). */
        REDELIVER("redeliver", false),
        /** Acknowledged messages. */
        ACK("ack", false),
        /** Messages that died here: rejected, expired, dropped for length or delivery limit. */
        DEAD_LETTER("dead_letter", false),
        /** Publishes dropped as duplicates by x-message-deduplication (and still confirmed). */
        DEDUPLICATED("deduplicated", false);

        private final String jsonName;
        private final boolean deliverOrGet;

        Counter(String jsonName, boolean deliverOrGet) {
            this.jsonName = jsonName;
            this.deliverOrGet = deliverOrGet;
        }

        /** Part of RabbitMQ's {@code deliver_get}: a message handed out by delivery or basic.get. */
        public boolean deliverOrGet() {
            return deliverOrGet;
        }

        /** The field name in RabbitMQ's {@code message_stats}. */
        public String jsonName() {
            return jsonName;
        }
    }

    private static final Counter[] COUNTERS = Counter.values();

    private final AtomicLongArray counts = new AtomicLongArray(COUNTERS.length);
    private volatile int unacked;
    private volatile long readyBytes;

    /** Actor thread only. */
    void add(Counter counter, long delta) {
        int i = counter.ordinal();
        counts.lazySet(i, counts.get(i) + delta);
    }

    /** Actor thread only. */
    void increment(Counter counter) {
        add(counter, 1);
    }

    /** Actor thread only. */
    void gauges(int unackedMessages, long readyBodyBytes) {
        unacked = unackedMessages;
        readyBytes = readyBodyBytes;
    }

    /** A recent value of a counter, from any thread. */
    public long get(Counter counter) {
        return counts.get(counter.ordinal());
    }

    /** Delivered or got messages that wait for an ack; a recent value. */
    public int unacked() {
        return unacked;
    }

    /** Body bytes of the ready messages; a recent value. */
    public long readyBytes() {
        return readyBytes;
    }

    /** Every counter, in {@link Counter} order. */
    public static Counter[] counters() {
        return COUNTERS.clone();
    }
}
