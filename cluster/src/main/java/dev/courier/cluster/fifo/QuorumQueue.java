package dev.courier.cluster.fifo;

import dev.courier.cluster.fifo.Reply.EnqueueOutcome;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;

/**
 * The replicated state of one quorum queue: ready messages, consumers and what they hold,
 * publisher and dedup tracking, counters. Deterministic: the result depends only on the commands
 * and their log times. Owned by the {@link QueueGroupState} that holds it (its apply thread).
 *
 * <p>Choices where RabbitMQ leaves room:
 *
 * <ul>
 *   <li>Delivery limit N: a message may fail N deliveries (return, or cancel/node down while
 *       unacknowledged); the failure that makes its count N + 1 discards it ("delivery_limit").
 *   <li>max-length / max-length-bytes count ready messages only; drop-head drops the message that
 *       would be delivered next, after the new message was offered to consumers.
 *   <li>Only ready messages expire; an unacknowledged one starts counting again if returned. A
 *       message is never delivered after its expiresAt; a tick expires those with expiresAt &lt;=
 *       its time.
 *   <li>Messages of cancelled consumers go back in front of everything ready, in message id
 *       order; returned (nacked) messages go behind earlier returns, in the order returned.
 *   <li>A REJECTED publish records neither its publisher sequence nor its dedup key, so a retry
 *       can succeed once there is room.
 * </ul>
 */
final class QuorumQueue {
    static final String REASON_EXPIRED = "expired";
    static final String REASON_REJECTED = "rejected";
    static final String REASON_MAXLEN = "maxlen";
    static final String REASON_DELIVERY_LIMIT = "delivery_limit";

    private final String name;
    private final QueueSettings settings;
    private final ReadyMessages ready;
    private final ExpiryIndex expiry = new ExpiryIndex();
    private final UnackedIndex unacked = new UnackedIndex();
    /** In checkout order: the first that is not get-only is the single active consumer. */
    private final LinkedHashMap<String, QueueConsumer> consumers = new LinkedHashMap<>();

    private final PublisherTracker publishers = new PublisherTracker();
    private final DedupWindow dedup = new DedupWindow();
    private final QueueCounters counters = new QueueCounters();
    private long nextMsgId = 1;
    private long serviceSeq;

    QuorumQueue(String name, QueueSettings settings) {
        this.name = name;
        this.settings = settings;
        this.ready = new ReadyMessages(settings.maxPriority());
    }

    EnqueueOutcome enqueue(long timeMs, Command.Enqueue command, Effects effects) {
        String publisherId = command.publisherId();
        if (publisherId != null && publishers.isDuplicate(publisherId, command.publisherSeq())) {
            counters.deduplicated++;
            return EnqueueOutcome.DUPLICATE;
        }
        String dedupKey = settings.dedupWindowMs() > 0 ? command.dedupKey() : null;
        if (dedupKey != null && dedup.contains(dedupKey, timeMs, settings.dedupWindowMs())) {
            recordPublisher(command, timeMs);
            counters.deduplicated++;
            return EnqueueOutcome.DUPLICATE;
        }
        byte[] body = command.message();
        if (settings.overflow() != Overflow.DROP_HEAD && wouldOverflow(body.length)) {
            // The publisher is not recorded: a retry may be accepted once there is room.
            counters.rejected++;
            if (settings.overflow() == Overflow.REJECT_PUBLISH_DLX && settings.deadLetterExchangeSet()) {
                counters.deadLettered++;
                effects.add(new Effect.DeadLettered(name, body, REASON_MAXLEN, 0));
            }
            return EnqueueOutcome.REJECTED;
        }
        recordPublisher(command, timeMs);
        if (dedupKey != null) {
            dedup.record(dedupKey, timeMs, settings.dedupMaxKeys());
        }
        int level = Math.min(command.priority(), settings.maxPriority());
        QueuedMessage message = new QueuedMessage(nextMsgId++, body, expiresAt(timeMs, command.expirationMs()), level);
        counters.published++;
        ready.add(message);
        if (message.hasExpiry()) {
            expiry.add(message);
        }
        dispatch(timeMs, effects);
        if (message.heapIndex >= 0 && message.expiresAt <= timeMs) {
            // TTL 0: a message no consumer could take at once expires at once, as in RabbitMQ.
            expiry.remove(message);
            ready.remove(message);
            expire(message, effects);
        }
        if (settings.overflow() == Overflow.DROP_HEAD) {
            while (overLimit()) {
                QueuedMessage head = ready.poll();
                expiry.remove(head);
                deadLetter(head, REASON_MAXLEN, effects);
            }
        }
        return EnqueueOutcome.ACCEPTED;
    }

    Reply checkout(long timeMs, Command.Checkout command, Effects effects) {
        for (QueueConsumer other : consumers.values()) {
            if (!other.getOnly && !other.id.equals(command.consumerId()) && (other.exclusive || command.exclusive())) {
                return Reply.IN_EXCLUSIVE_USE;
            }
        }
        QueueConsumer consumer = consumers.get(command.consumerId());
        if (consumer == null) {
            consumer = new QueueConsumer(
                    command.consumerId(),
                    command.node(),
                    command.prefetch(),
                    command.autoAck(),
                    command.consumerPriority(),
                    false);
            consumers.put(consumer.id, consumer);
        } else {
            if (consumer.getOnly) {
                // Now a real consumer: it joins the checkout order at the end.
                consumers.remove(consumer.id);
                consumers.put(consumer.id, consumer);
                consumer.getOnly = false;
            }
            consumer.node = command.node();
            consumer.prefetch = command.prefetch();
            consumer.autoAck = command.autoAck();
            consumer.priority = command.consumerPriority();
        }
        consumer.exclusive = command.exclusive();
        dispatch(timeMs, effects);
        return Reply.OK;
    }

    void cancel(long timeMs, String consumerId, Effects effects) {
        QueueConsumer consumer = consumers.get(consumerId);
        if (consumer != null) {
            cancelAll(timeMs, List.of(consumer), effects);
        }
    }

    /**
     * Stops deliveries to a consumer but lets it settle what it holds: it becomes a holder like a
     * basic.get caller's, and leaves once it holds nothing.
     */
    void detach(long timeMs, String consumerId, Effects effects) {
        QueueConsumer consumer = consumers.get(consumerId);
        if (consumer != null && !consumer.getOnly) {
            consumer.getOnly = true;
            afterRelease(timeMs, consumer, effects);
        }
    }

    void nodeDown(long timeMs, String node, Effects effects) {
        List<QueueConsumer> onNode = new ArrayList<>();
        for (QueueConsumer consumer : consumers.values()) {
            if (consumer.node.equals(node)) {
                onNode.add(consumer);
            }
        }
        if (!onNode.isEmpty()) {
            cancelAll(timeMs, onNode, effects);
        }
    }

    void settle(long timeMs, String consumerId, long[] msgIds, Effects effects) {
        QueueConsumer consumer = consumers.get(consumerId);
        if (consumer == null) {
            return;
        }
        for (long id : msgIds) {
            if (takeUnacked(consumer, id) != null) {
                counters.acked++;
            }
        }
        afterRelease(timeMs, consumer, effects);
    }

    /**
     * Puts messages the consumer holds back in the queue at their place; {@code failed} counts a
     * failed delivery (nack/reject with requeue) towards the delivery limit, a release (never
     * handed to the client) does not.
     */
    void returnMessages(long timeMs, String consumerId, long[] msgIds, boolean failed, Effects effects) {
        QueueConsumer consumer = consumers.get(consumerId);
        if (consumer == null) {
            return;
        }
        for (long id : msgIds) {
            QueuedMessage message = takeUnacked(consumer, id);
            if (message != null && (!failed || countFailedDelivery(message, effects))) {
                ready.addReturn(message);
                if (message.hasExpiry()) {
                    expiry.add(message);
                }
            }
        }
        afterRelease(timeMs, consumer, effects);
    }

    void discard(long timeMs, String consumerId, long[] msgIds, Effects effects) {
        QueueConsumer consumer = consumers.get(consumerId);
        if (consumer == null) {
            return;
        }
        for (long id : msgIds) {
            QueuedMessage message = takeUnacked(consumer, id);
            if (message != null) {
                deadLetter(message, REASON_REJECTED, effects);
            }
        }
        afterRelease(timeMs, consumer, effects);
    }

    Reply get(long timeMs, Command.Get command, Effects effects) {
        QueuedMessage message = takeReady(timeMs, effects);
        if (message == null) {
            return Reply.GET_EMPTY;
        }
        // basic.get ignores basic.qos: a checked-out consumer's prefetch does not limit it.
        QueueConsumer holder = null;
        if (!command.autoAck()) {
            holder = consumers.get(command.consumerId());
            if (holder == null) {
                holder = new QueueConsumer(command.consumerId(), command.node(), 0, false, 0, true);
                consumers.put(holder.id, holder);
            }
        }
        deliver(command.consumerId(), command.node(), holder, message, command.token(), effects);
        return new Reply.GetOk(message.id, ready.count());
    }

    long purge() {
        long count = ready.count();
        for (QueuedMessage m = ready.poll(); m != null; m = ready.poll()) {
            expiry.remove(m);
        }
        return count;
    }

    /** Cancels every consumer; returns how many messages the queue held. */
    long delete(Effects effects) {
        for (QueueConsumer consumer : consumers.values()) {
            if (!consumer.getOnly) {
                effects.add(new Effect.ConsumerCancelled(name, consumer.id, consumer.node));
            }
        }
        return (long) ready.count() + unacked.size();
    }

    void tick(long timeMs, Effects effects) {
        for (QueuedMessage m = expiry.peek(); m != null && m.expiresAt <= timeMs; m = expiry.peek()) {
            expiry.remove(m);
            ready.remove(m);
            expire(m, effects);
        }
        if (settings.dedupWindowMs() > 0) {
            dedup.forgetOlderThan(timeMs, settings.dedupWindowMs());
        }
        publishers.forgetIdle(timeMs);
    }

    String name() {
        return name;
    }

    QueueView view() {
        int consumerCount = 0;
        for (QueueConsumer consumer : consumers.values()) {
            if (!consumer.getOnly) {
                consumerCount++;
            }
        }
        return new QueueView(name, settings, ready.count(), unacked.size(), ready.bytes(), consumerCount);
    }

    QueueStats stats() {
        return counters.toStats();
    }

    /** Consumers in checkout order with what each holds unacknowledged, oldest delivery first. */
    List<ConsumerView> consumerViews() {
        List<ConsumerView> views = new ArrayList<>();
        for (QueueConsumer c : consumers.values()) {
            List<Long> ids = new ArrayList<>();
            for (QueuedMessage m = c.unacked.first(); m != null; m = m.next) {
                ids.add(m.id);
            }
            views.add(new ConsumerView(c.id, c.node, c.prefetch, c.autoAck, c.priority, c.getOnly, ids));
        }
        return views;
    }

    private void recordPublisher(Command.Enqueue command, long timeMs) {
        if (command.publisherId() != null) {
            publishers.record(command.publisherId(), command.publisherSeq(), timeMs);
        }
    }

    private long expiresAt(long timeMs, long expirationMs) {
        long ttl = expirationMs;
        if (settings.messageTtlMs() >= 0) {
            ttl = ttl < 0 ? settings.messageTtlMs() : Math.min(ttl, settings.messageTtlMs());
        }
        if (ttl < 0) {
            return QueuedMessage.NO_EXPIRY;
        }
        long at = timeMs + ttl;
        return at < timeMs || at == QueuedMessage.NO_EXPIRY ? QueuedMessage.NO_EXPIRY - 1 : at;
    }

    private boolean wouldOverflow(int bodyLength) {
        return (settings.maxLength() >= 0 && ready.count() + 1L > settings.maxLength())
                || (settings.maxLengthBytes() >= 0 && ready.bytes() + bodyLength > settings.maxLengthBytes());
    }

    private boolean overLimit() {
        return (settings.maxLength() >= 0 && ready.count() > settings.maxLength())
                || (settings.maxLengthBytes() >= 0 && ready.bytes() > settings.maxLengthBytes());
    }

    /** Delivers ready messages while some consumer has credit. */
    private void dispatch(long timeMs, Effects effects) {
        while (!ready.isEmpty()) {
            QueueConsumer consumer = nextConsumer();
            if (consumer == null) {
                return;
            }
            QueuedMessage message = takeReady(timeMs, effects);
            if (message == null) {
                return;
            }
            consumer.lastServed = ++serviceSeq;
            deliver(consumer.id, consumer.node, consumer.autoAck ? null : consumer, message, 0, effects);
        }
    }

    /**
     * The consumer the next message goes to: with single active consumer the oldest, else among
     * those with credit and the highest priority the least recently served (round-robin).
     */
    private QueueConsumer nextConsumer() {
        if (settings.singleActiveConsumer()) {
            for (QueueConsumer consumer : consumers.values()) {
                if (!consumer.getOnly) {
                    return consumer.hasCredit() ? consumer : null;
                }
            }
            return null;
        }
        QueueConsumer best = null;
        for (QueueConsumer consumer : consumers.values()) {
            if (consumer.hasCredit()
                    && (best == null
                            || consumer.priority > best.priority
                            || (consumer.priority == best.priority && consumer.lastServed < best.lastServed))) {
                best = consumer;
            }
        }
        return best;
    }

    /**
     * Takes the next ready message, expiring on the way those whose time has passed: a message is
     * never delivered after its expiresAt, though at expiresAt itself it still may be (so a TTL 0
     * message can go to a waiting consumer, as in RabbitMQ).
     */
    private QueuedMessage takeReady(long timeMs, Effects effects) {
        for (QueuedMessage m = ready.poll(); m != null; m = ready.poll()) {
            expiry.remove(m);
            if (m.expiresAt >= timeMs) {
                return m;
            }
            expire(m, effects);
        }
        return null;
    }

    /** Emits the delivery; the holder keeps it unacknowledged, or none when it is auto-acked. */
    private void deliver(
            String consumerId,
            String node,
            QueueConsumer holder,
            QueuedMessage message,
            long getToken,
            Effects effects) {
        counters.delivered++;
        if (message.redelivered) {
            counters.redelivered++;
        }
        effects.add(new Effect.Deliver(
                name,
                consumerId,
                node,
                message.id,
                message.body,
                message.redelivered,
                message.deliveryCount,
                getToken));
        if (holder == null) {
            counters.acked++;
        } else {
            holder.unacked.addLast(message);
            unacked.put(message);
        }
    }

    private QueuedMessage takeUnacked(QueueConsumer consumer, long msgId) {
        QueuedMessage message = unacked.get(msgId);
        if (message == null || message.list != consumer.unacked) {
            return null;
        }
        consumer.unacked.remove(message);
        unacked.remove(message);
        return message;
    }

    /** After a consumer let go of messages: a get-only holder with nothing left goes; credit is used. */
    private void afterRelease(long timeMs, QueueConsumer consumer, Effects effects) {
        if (consumer.getOnly && consumer.unacked.isEmpty()) {
            consumers.remove(consumer.id);
        }
        dispatch(timeMs, effects);
    }

    /**
     * Counts a failed delivery of a message taken back from a consumer. Returns whether it may be
     * requeued; if not, it has been discarded as "delivery_limit".
     */
    private boolean countFailedDelivery(QueuedMessage message, Effects effects) {
        message.deliveryCount++;
        message.redelivered = true;
        // As RabbitMQ: the limit is the failed deliveries allowed, discarded once exceeded.
        if (settings.deliveryLimit() >= 0 && message.deliveryCount > settings.deliveryLimit()) {
            deadLetter(message, REASON_DELIVERY_LIMIT, effects);
            return false;
        }
        return true;
    }

    /**
     * Detaches the consumers; their unacknowledged messages, in message id order, go back in front
     * of every ready message, each counting a failed delivery.
     */
    private void cancelAll(long timeMs, List<QueueConsumer> gone, Effects effects) {
        List<QueuedMessage> taken = new ArrayList<>();
        for (QueueConsumer consumer : gone) {
            consumers.remove(consumer.id);
            for (QueuedMessage m = consumer.unacked.pollFirst(); m != null; m = consumer.unacked.pollFirst()) {
                unacked.remove(m);
                taken.add(m);
            }
        }
        taken.sort(Comparator.comparingLong(m -> m.id));
        List<QueuedMessage> requeued = new ArrayList<>(taken.size());
        for (QueuedMessage m : taken) {
            if (countFailedDelivery(m, effects)) {
                requeued.add(m);
            }
        }
        for (int i = requeued.size() - 1; i >= 0; i--) {
            QueuedMessage m = requeued.get(i);
            ready.addReturnFirst(m);
            if (m.hasExpiry()) {
                expiry.add(m);
            }
        }
        dispatch(timeMs, effects);
    }

    private void expire(QueuedMessage message, Effects effects) {
        counters.expired++;
        deadLetter(message, REASON_EXPIRED, effects);
    }

    private void deadLetter(QueuedMessage message, String reason, Effects effects) {
        if (settings.deadLetterExchangeSet()) {
            counters.deadLettered++;
            effects.add(new Effect.DeadLettered(name, message.body, reason, message.deliveryCount));
        } else {
            counters.dropped++;
        }
    }

    void writeTo(DataOutputStream out) throws IOException {
        out.writeUTF(name);
        settings.writeTo(out);
        out.writeLong(nextMsgId);
        out.writeLong(serviceSeq);
        counters.writeTo(out);
        publishers.writeTo(out);
        dedup.writeTo(out);
        out.writeInt(consumers.size());
        for (QueueConsumer c : consumers.values()) {
            out.writeUTF(c.id);
            out.writeUTF(c.node);
            out.writeInt(c.prefetch);
            out.writeBoolean(c.autoAck);
            out.writeInt(c.priority);
            out.writeBoolean(c.getOnly);
            out.writeBoolean(c.exclusive);
            out.writeLong(c.lastServed);
            out.writeInt(c.unacked.size());
            for (QueuedMessage m = c.unacked.first(); m != null; m = m.next) {
                m.writeTo(out);
            }
        }
        ready.writeTo(out);
    }

    static QuorumQueue readFrom(DataInputStream in) throws IOException {
        QuorumQueue queue = new QuorumQueue(in.readUTF(), QueueSettings.readFrom(in));
        queue.nextMsgId = in.readLong();
        queue.serviceSeq = in.readLong();
        queue.counters.readFrom(in);
        queue.publishers.readFrom(in);
        queue.dedup.readFrom(in);
        int consumerCount = Wire.readCount(in);
        for (int i = 0; i < consumerCount; i++) {
            QueueConsumer c = new QueueConsumer(
                    in.readUTF(), in.readUTF(), in.readInt(), in.readBoolean(), in.readInt(), in.readBoolean());
            c.exclusive = in.readBoolean();
            c.lastServed = in.readLong();
            int unackedCount = Wire.readCount(in);
            for (int j = 0; j < unackedCount; j++) {
                QueuedMessage m = QueuedMessage.readFrom(in);
                c.unacked.addLast(m);
                queue.unacked.put(m);
            }
            queue.consumers.put(c.id, c);
        }
        queue.ready.readFrom(in, queue.expiry);
        return queue;
    }
}
