package dev.courier.cluster.fifo;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.Objects;

/**
 * What {@link QueueGroupState#apply} answers for one command. Immutable. Encodable ({@link
 * #writeTo}, {@link #readFrom}) so a replica can send it back to the node that forwarded the
 * command.
 */
public sealed interface Reply {
    /** The command was applied; it has nothing more to say. */
    Ok OK = new Ok();

    /** Reply to a {@link Command.Get} that found no ready message. */
    GetEmpty GET_EMPTY = new GetEmpty();

    /** Reply to a {@link Command.Checkout} refused because of an exclusive consumer; nothing changed. */
    InExclusiveUse IN_EXCLUSIVE_USE = new InExclusiveUse();

    void writeTo(DataOutputStream out) throws IOException;

    static Reply readFrom(DataInputStream in) throws IOException {
        int type = in.readUnsignedByte();
        return switch (type) {
            case Ok.TYPE -> OK;
            case NoSuchQueue.TYPE -> new NoSuchQueue(in.readUTF());
            case Enqueued.TYPE -> {
                int outcome = in.readUnsignedByte();
                if (outcome >= EnqueueOutcome.values().length) {
                    throw new IOException("unknown enqueue outcome " + outcome);
                }
                yield new Enqueued(EnqueueOutcome.values()[outcome]);
            }
            case Count.TYPE -> new Count(in.readLong());
            case GetEmpty.TYPE -> GET_EMPTY;
            case GetOk.TYPE -> new GetOk(in.readLong(), in.readInt());
            case InExclusiveUse.TYPE -> IN_EXCLUSIVE_USE;
            default -> throw new IOException("unknown reply type " + type);
        };
    }

    /** How an {@link Command.Enqueue} ended. */
    enum EnqueueOutcome {
        /** Enqueued (and possibly already delivered, expired or dropped by drop-head). */
        ACCEPTED,
        /** Seen before (publisher sequence or dedup key): nothing enqueued, confirm it anyway. */
        DUPLICATE,
        /** The queue is full and its overflow is reject-publish(-dlx): nack it. */
        REJECTED
    }

    /** See {@link #OK}. */
    record Ok() implements Reply {
        static final int TYPE = 1;

        @Override
        public void writeTo(DataOutputStream out) throws IOException {
            out.writeByte(TYPE);
        }
    }

    /** The command named a queue this group does not hold; nothing changed. */
    record NoSuchQueue(String queue) implements Reply {
        static final int TYPE = 2;

        public NoSuchQueue {
            Objects.requireNonNull(queue, "queue");
        }

        @Override
        public void writeTo(DataOutputStream out) throws IOException {
            out.writeByte(TYPE);
            out.writeUTF(queue);
        }
    }

    /** Reply to {@link Command.Enqueue}. */
    record Enqueued(EnqueueOutcome outcome) implements Reply {
        static final int TYPE = 3;

        public Enqueued {
            Objects.requireNonNull(outcome, "outcome");
        }

        @Override
        public void writeTo(DataOutputStream out) throws IOException {
            out.writeByte(TYPE);
            out.writeByte(outcome.ordinal());
        }
    }

    /** Reply to {@link Command.DeleteQueue} and {@link Command.Purge}: how many messages were dropped. */
    record Count(long count) implements Reply {
        static final int TYPE = 4;

        @Override
        public void writeTo(DataOutputStream out) throws IOException {
            out.writeByte(TYPE);
            out.writeLong(count);
        }
    }

    /** See {@link #IN_EXCLUSIVE_USE}. */
    record InExclusiveUse() implements Reply {
        static final int TYPE = 7;

        @Override
        public void writeTo(DataOutputStream out) throws IOException {
            out.writeByte(TYPE);
        }
    }

    /** See {@link #GET_EMPTY}. */
    record GetEmpty() implements Reply {
        static final int TYPE = 5;

        @Override
        public void writeTo(DataOutputStream out) throws IOException {
            out.writeByte(TYPE);
        }
    }

    /**
     * Reply to a {@link Command.Get} that took a message; the message itself is in the {@link
     * Effect.Deliver} effect.
     *
     * @param readyLeft ready messages still in the queue (basic.get-ok's message-count)
     */
    record GetOk(long msgId, int readyLeft) implements Reply {
        static final int TYPE = 6;

        @Override
        public void writeTo(DataOutputStream out) throws IOException {
            out.writeByte(TYPE);
            out.writeLong(msgId);
            out.writeInt(readyLeft);
        }
    }
}
