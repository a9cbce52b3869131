package dev.courier.cluster.fifo;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.Arrays;
import java.util.Objects;

/**
 * One operation on the quorum queues of a Raft group, as carried in a log entry. Each command
 * encodes to a compact binary form: one type byte, then its fields ({@link #writeTo}, {@link
 * #readFrom}). Immutable; safe to share between threads (array components are not copied: do not
 * change them after building the command).
 */
public sealed interface Command {
    /** Writes the type byte and the fields. */
    void writeTo(DataOutputStream out) throws IOException;

    /** Reads one command written by {@link #writeTo}. */
    static Command readFrom(DataInputStream in) throws IOException {
        int type = in.readUnsignedByte();
        return switch (type) {
            case DeclareQueue.TYPE -> new DeclareQueue(in.readUTF(), QueueSettings.readFrom(in));
            case DeleteQueue.TYPE -> new DeleteQueue(in.readUTF());
            case Enqueue.TYPE ->
                new Enqueue(
                        in.readUTF(),
                        Wire.readNullableString(in),
                        in.readLong(),
                        Wire.readNullableString(in),
                        in.readUnsignedByte(),
                        in.readLong(),
                        Wire.readBytes(in));
            case Checkout.TYPE ->
                new Checkout(
                        in.readUTF(),
                        in.readUTF(),
                        in.readUTF(),
                        in.readInt(),
                        in.readBoolean(),
                        in.readInt(),
                        in.readBoolean());
            case Cancel.TYPE -> new Cancel(in.readUTF(), in.readUTF());
            case Settle.TYPE -> new Settle(in.readUTF(), in.readUTF(), Wire.readLongs(in));
            case Return.TYPE -> new Return(in.readUTF(), in.readUTF(), Wire.readLongs(in));
            case Discard.TYPE -> new Discard(in.readUTF(), in.readUTF(), Wire.readLongs(in));
            case Get.LEGACY_TYPE -> new Get(in.readUTF(), in.readUTF(), in.readUTF(), in.readBoolean());
            case Get.TYPE -> new Get(in.readUTF(), in.readUTF(), in.readUTF(), in.readBoolean(), in.readLong());
            case Purge.TYPE -> new Purge(in.readUTF());
            case NodeDown.TYPE -> new NodeDown(in.readUTF());
            case Tick.TYPE -> new Tick();
            case Detach.TYPE -> new Detach(in.readUTF(), in.readUTF());
            case Release.TYPE -> new Release(in.readUTF(), in.readUTF(), Wire.readLongs(in));
            default -> throw new IOException("unknown command type " + type);
        };
    }

    /** Creates the queue; declaring an existing queue again changes nothing. */
    record DeclareQueue(String queue, QueueSettings settings) implements Command {
        static final int TYPE = 1;

        public DeclareQueue {
            Objects.requireNonNull(queue, "queue");
            Objects.requireNonNull(settings, "settings");
        }

        @Override
        public void writeTo(DataOutputStream out) throws IOException {
            out.writeByte(TYPE);
            out.writeUTF(queue);
            settings.writeTo(out);
        }
    }

    /** Drops the queue, its messages and its consumers. */
    record DeleteQueue(String queue) implements Command {
        static final int TYPE = 2;

        public DeleteQueue {
            Objects.requireNonNull(queue, "queue");
        }

        @Override
        public void writeTo(DataOutputStream out) throws IOException {
            out.writeByte(TYPE);
            out.writeUTF(queue);
        }
    }

    /**
     * Publishes one message.
     *
     * @param publisherId the publishing channel, or null when retries need not be recognised
     * @param publisherSeq the publisher's sequence number: at most one message per (id, seq)
     * @param dedupKey the message's deduplication id, or null
     * @param priority 0..255; above the queue's max priority counts as its max
     * @param expirationMs per-message TTL from the publish, -1 = none
     * @param message the broker's encoded header and body, opaque here
     */
    record Enqueue(
            String queue,
            String publisherId,
            long publisherSeq,
            String dedupKey,
            int priority,
            long expirationMs,
            byte[] message)
            implements Command {
        static final int TYPE = 3;

        public Enqueue {
            Objects.requireNonNull(queue, "queue");
            Objects.requireNonNull(message, "message");
            if (priority < 0 || priority > 255) {
                throw new IllegalArgumentException("priority must be 0..255: " + priority);
            }
        }

        @Override
        public void writeTo(DataOutputStream out) throws IOException {
            out.writeByte(TYPE);
            out.writeUTF(queue);
            Wire.writeNullableString(out, publisherId);
            out.writeLong(publisherSeq);
            Wire.writeNullableString(out, dedupKey);
            out.writeByte(priority);
            out.writeLong(expirationMs);
            Wire.writeBytes(out, message);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Enqueue e
                    && queue.equals(e.queue)
                    && Objects.equals(publisherId, e.publisherId)
                    && publisherSeq == e.publisherSeq
                    && Objects.equals(dedupKey, e.dedupKey)
                    && priority == e.priority
                    && expirationMs == e.expirationMs
                    && Arrays.equals(message, e.message);
        }

        @Override
        public int hashCode() {
            return Objects.hash(queue, publisherId, publisherSeq, dedupKey, priority, expirationMs)
                    + 31 * Arrays.hashCode(message);
        }

        @Override
        public String toString() {
            return "Enqueue[queue=" + queue + ", publisherId=" + publisherId + ", publisherSeq=" + publisherSeq
                    + ", dedupKey=" + dedupKey + ", priority=" + priority + ", expirationMs=" + expirationMs
                    + ", message=" + message.length + " bytes]";
        }
    }

    /**
     * Attaches a consumer, or changes the prefetch and priority of one already attached.
     *
     * @param prefetch most unacknowledged messages at a time, 0 = unlimited
     */
    /**
     * Registers (or updates) a consumer. An exclusive one is refused ({@link
     * Reply.InExclusiveUse}) while the queue has another consumer, and while it is there every
     * other checkout is refused; consumers that only hold messages (basic.get, detached) do not
     * count.
     */
    record Checkout(
            String queue,
            String consumerId,
            String node,
            int prefetch,
            boolean autoAck,
            int consumerPriority,
            boolean exclusive)
            implements Command {
        static final int TYPE = 4;

        public Checkout {
            Objects.requireNonNull(queue, "queue");
            Objects.requireNonNull(consumerId, "consumerId");
            Objects.requireNonNull(node, "node");
            if (prefetch < 0) {
                throw new IllegalArgumentException("prefetch must not be negative: " + prefetch);
            }
        }

        /** A consumer that does not ask for exclusive use. */
        public Checkout(
                String queue, String consumerId, String node, int prefetch, boolean autoAck, int consumerPriority) {
            this(queue, consumerId, node, prefetch, autoAck, consumerPriority, false);
        }

        @Override
        public void writeTo(DataOutputStream out) throws IOException {
            out.writeByte(TYPE);
            out.writeUTF(queue);
            out.writeUTF(consumerId);
            out.writeUTF(node);
            out.writeInt(prefetch);
            out.writeBoolean(autoAck);
            out.writeInt(consumerPriority);
            out.writeBoolean(exclusive);
        }
    }

    /** Detaches a consumer; its unacknowledged messages go back to the head of the queue. */
    record Cancel(String queue, String consumerId) implements Command {
        static final int TYPE = 5;

        public Cancel {
            Objects.requireNonNull(queue, "queue");
            Objects.requireNonNull(consumerId, "consumerId");
        }

        @Override
        public void writeTo(DataOutputStream out) throws IOException {
            out.writeByte(TYPE);
            out.writeUTF(queue);
            out.writeUTF(consumerId);
        }
    }

    /** Acknowledges messages delivered to the consumer; unknown ids are ignored. */
    record Settle(String queue, String consumerId, long[] msgIds) implements Command {
        static final int TYPE = 6;

        public Settle {
            Objects.requireNonNull(queue, "queue");
            Objects.requireNonNull(consumerId, "consumerId");
            Objects.requireNonNull(msgIds, "msgIds");
        }

        @Override
        public void writeTo(DataOutputStream out) throws IOException {
            writeIds(out, TYPE, queue, consumerId, msgIds);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Settle s && sameIds(queue, consumerId, msgIds, s.queue, s.consumerId, s.msgIds);
        }

        @Override
        public int hashCode() {
            return idsHash(queue, consumerId, msgIds);
        }

        @Override
        public String toString() {
            return idsString("Settle", queue, consumerId, msgIds);
        }
    }

    /** Requeues messages delivered to the consumer (nack/reject with requeue). */
    record Return(String queue, String consumerId, long[] msgIds) implements Command {
        static final int TYPE = 7;

        public Return {
            Objects.requireNonNull(queue, "queue");
            Objects.requireNonNull(consumerId, "consumerId");
            Objects.requireNonNull(msgIds, "msgIds");
        }

        @Override
        public void writeTo(DataOutputStream out) throws IOException {
            writeIds(out, TYPE, queue, consumerId, msgIds);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Return r && sameIds(queue, consumerId, msgIds, r.queue, r.consumerId, r.msgIds);
        }

        @Override
        public int hashCode() {
            return idsHash(queue, consumerId, msgIds);
        }

        @Override
        public String toString() {
            return idsString("Return", queue, consumerId, msgIds);
        }
    }

    /**
     * Gives back messages the consumer's node held for it but never handed to the client (no
     * credit yet, or the consumer went first): they go back to their place in the queue with their
     * delivery count and redelivered flag unchanged, since no delivery failed. As RabbitMQ's
     * modify without delivery-failed.
     */
    record Release(String queue, String consumerId, long[] msgIds) implements Command {
        static final int TYPE = 14;

        public Release {
            Objects.requireNonNull(queue, "queue");
            Objects.requireNonNull(consumerId, "consumerId");
            Objects.requireNonNull(msgIds, "msgIds");
        }

        @Override
        public void writeTo(DataOutputStream out) throws IOException {
            writeIds(out, TYPE, queue, consumerId, msgIds);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Release r && sameIds(queue, consumerId, msgIds, r.queue, r.consumerId, r.msgIds);
        }

        @Override
        public int hashCode() {
            return idsHash(queue, consumerId, msgIds);
        }

        @Override
        public String toString() {
            return idsString("Release", queue, consumerId, msgIds);
        }
    }

    /** Rejects messages delivered to the consumer without requeue: dead-lettered as "rejected". */
    record Discard(String queue, String consumerId, long[] msgIds) implements Command {
        static final int TYPE = 8;

        public Discard {
            Objects.requireNonNull(queue, "queue");
            Objects.requireNonNull(consumerId, "consumerId");
            Objects.requireNonNull(msgIds, "msgIds");
        }

        @Override
        public void writeTo(DataOutputStream out) throws IOException {
            writeIds(out, TYPE, queue, consumerId, msgIds);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Discard d && sameIds(queue, consumerId, msgIds, d.queue, d.consumerId, d.msgIds);
        }

        @Override
        public int hashCode() {
            return idsHash(queue, consumerId, msgIds);
        }

        @Override
        public String toString() {
            return idsString("Discard", queue, consumerId, msgIds);
        }
    }

    /**
     * basic.get: takes one ready message for the consumer id, which need not have checked out.
     *
     * @param token chosen by the getting node to recognise this get's delivery effect, so that a get
     *     whose answer was lost (the submit failed, yet the entry was committed) can give its message
     *     back; 0 for none
     */
    record Get(String queue, String consumerId, String node, boolean autoAck, long token) implements Command {
        /** The encoding before the token: still read from older logs, with token 0. */
        static final int LEGACY_TYPE = 9;

        static final int TYPE = 15;

        public Get {
            Objects.requireNonNull(queue, "queue");
            Objects.requireNonNull(consumerId, "consumerId");
            Objects.requireNonNull(node, "node");
        }

        public Get(String queue, String consumerId, String node, boolean autoAck) {
            this(queue, consumerId, node, autoAck, 0);
        }

        @Override
        public void writeTo(DataOutputStream out) throws IOException {
            out.writeByte(TYPE);
            out.writeUTF(queue);
            out.writeUTF(consumerId);
            out.writeUTF(node);
            out.writeBoolean(autoAck);
            out.writeLong(token);
        }
    }

    /** Drops the ready messages (unacknowledged ones stay with their consumers). */
    record Purge(String queue) implements Command {
        static final int TYPE = 10;

        public Purge {
            Objects.requireNonNull(queue, "queue");
        }

        @Override
        public void writeTo(DataOutputStream out) throws IOException {
            out.writeByte(TYPE);
            out.writeUTF(queue);
        }
    }

    /** A node left the cluster: every consumer on it, in every queue, is cancelled. */
    record NodeDown(String node) implements Command {
        static final int TYPE = 11;

        public NodeDown {
            Objects.requireNonNull(node, "node");
        }

        @Override
        public void writeTo(DataOutputStream out) throws IOException {
            out.writeByte(TYPE);
            out.writeUTF(node);
        }
    }

    /** Periodic housekeeping at the entry's time: expires messages, forgets old dedup keys. */
    /**
     * basic.cancel: the consumer gets no more messages, but keeps the ones it holds until it
     * settles or returns them (an AMQP client may ack after cancelling); it leaves once it holds
     * none. Unlike {@link Cancel}, which is for a consumer that is gone (its channel closed).
     */
    record Detach(String queue, String consumerId) implements Command {
        static final int TYPE = 13;

        public Detach {
            Objects.requireNonNull(queue, "queue");
            Objects.requireNonNull(consumerId, "consumerId");
        }

        @Override
        public void writeTo(DataOutputStream out) throws IOException {
            out.writeByte(TYPE);
            out.writeUTF(queue);
            out.writeUTF(consumerId);
        }
    }

    record Tick() implements Command {
        static final int TYPE = 12;

        @Override
        public void writeTo(DataOutputStream out) throws IOException {
            out.writeByte(TYPE);
        }
    }

    // Settle, Return, Release and Discard hold an array: records would compare it by identity
    private static boolean sameIds(String queue, String consumer, long[] ids, String q, String c, long[] i) {
        return queue.equals(q) && consumer.equals(c) && Arrays.equals(ids, i);
    }

    private static int idsHash(String queue, String consumerId, long[] ids) {
        return Objects.hash(queue, consumerId) + 31 * Arrays.hashCode(ids);
    }

    private static String idsString(String name, String queue, String consumerId, long[] ids) {
        return name + "[" + queue + ", " + consumerId + ", " + Arrays.toString(ids) + "]";
    }

    private static void writeIds(DataOutputStream out, int type, String queue, String consumerId, long[] ids)
            throws IOException {
        out.writeByte(type);
        out.writeUTF(queue);
        out.writeUTF(consumerId);
        Wire.writeLongs(out, ids);
    }
}
