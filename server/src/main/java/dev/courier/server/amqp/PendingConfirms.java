package dev.courier.server.amqp;

import java.util.Arrays;

/**
 * Publisher-confirm bookkeeping for one channel in confirm mode.
 *
 * <p>Sequence numbers are assigned in publish order. A message is <em>settled</em> when every
 * queue it was routed to has taken it (ack) or one refused it (nack). Acks are coalesced: after
 * each batch of work the channel calls {@link #drain} and one {@code basic.ack multiple=true}
 * covers the longest settled prefix; nacks go out individually as they happen, as the Java client
 * expects. Owned by the connection's event loop; not thread-safe.
 */
final class PendingConfirms {
    /** Receives the confirms to write, in order. */
    interface Sink {
        void ack(long deliveryTag, boolean multiple);

        void nack(long deliveryTag, boolean multiple);
    }

    private long nextSeqNo = 1;
    private long lowestUnsettled = 1;
    private long lastAcked;
    private boolean[] settled = new boolean[64];
    private long[] nacks = new long[8];
    private int nackCount;

    /** Assigns the next publish sequence number (1, 2, 3 …). */
    long next() {
        long seqNo = nextSeqNo++;
        ensureCapacity(nextSeqNo - lowestUnsettled);
        return seqNo;
    }

    /** Marks a message as taken by every queue it was routed to (or routed nowhere). */
    void settle(long seqNo) {
        if (seqNo < lowestUnsettled || seqNo >= nextSeqNo) {
            return;
        }
        settled[index(seqNo)] = true;
        while (lowestUnsettled < nextSeqNo && settled[index(lowestUnsettled)]) {
            settled[index(lowestUnsettled)] = false;
            lowestUnsettled++;
        }
    }

    /** Marks a message as refused: it is nacked on its own at the next drain. */
    void reject(long seqNo) {
        if (seqNo < lowestUnsettled || seqNo >= nextSeqNo || settled[index(seqNo)]) {
            return;
        }
        if (nackCount == nacks.length) {
            nacks = Arrays.copyOf(nacks, nackCount * 2);
        }
        nacks[nackCount++] = seqNo;
        settle(seqNo);
    }

    /** True when some confirm is waiting to be written. */
    boolean hasWork() {
        return nackCount > 0 || lowestUnsettled - 1 > lastAcked;
    }

    /**
     * Writes the pending nacks, then one ack for the settled prefix. The ack may cover tags that
     * were just nacked: the client has already forgotten those, and a multiple ack only settles
     * what it still tracks.
     */
    void drain(Sink sink) {
        for (int i = 0; i < nackCount; i++) {
            sink.nack(nacks[i], false);
        }
        nackCount = 0;
        long ackUpTo = lowestUnsettled - 1;
        if (ackUpTo > lastAcked) {
            sink.ack(ackUpTo, ackUpTo - lastAcked > 1);
            lastAcked = ackUpTo;
        }
    }

    private int index(long seqNo) {
        return (int) (seqNo & (settled.length - 1));
    }

    private void ensureCapacity(long span) {
        if (span < settled.length) {
            return;
        }
        int capacity = settled.length;
        while (capacity <= span) {
            capacity <<= 1;
        }
        boolean[] grown = new boolean[capacity];
        for (long seq = lowestUnsettled; seq < nextSeqNo - 1; seq++) {
            grown[(int) (seq & (capacity - 1))] = settled[index(seq)];
        }
        settled = grown;
    }
}
