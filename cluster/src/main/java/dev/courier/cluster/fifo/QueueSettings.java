package dev.courier.cluster.fifo;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.Objects;

/**
 * The arguments a quorum queue was declared with. Immutable.
 *
 * @param maxPriority 0 = no priorities (one level), else 1..255 levels above 0
 * @param messageTtlMs queue-wide message TTL, -1 = none
 * @param maxLength limit on ready messages, -1 = none
 * @param maxLengthBytes limit on ready message bytes, -1 = none
 * @param overflow what to do at the limits
 * @param deliveryLimit failed deliveries allowed before a message is discarded, -1 = none
 * @param deadLetterExchangeSet whether discarded messages become {@link Effect.DeadLettered} effects
 * @param singleActiveConsumer only the oldest consumer receives
 * @param dedupWindowMs how long a dedup key is remembered, 0 = deduplication off
 * @param dedupMaxKeys most dedup keys remembered (oldest forgotten first), 0 = bounded by the window only
 */
public record QueueSettings(
        int maxPriority,
        long messageTtlMs,
        long maxLength,
        long maxLengthBytes,
        Overflow overflow,
        int deliveryLimit,
        boolean deadLetterExchangeSet,
        boolean singleActiveConsumer,
        long dedupWindowMs,
        int dedupMaxKeys) {

    public QueueSettings {
        if (maxPriority < 0 || maxPriority > 255) {
            throw new IllegalArgumentException("maxPriority must be 0..255: " + maxPriority);
        }
        Objects.requireNonNull(overflow, "overflow");
        if (dedupWindowMs < 0 || dedupMaxKeys < 0) {
            throw new IllegalArgumentException("dedup window and max keys must not be negative");
        }
    }

    /** No limits, no TTL, no priorities, no dead-lettering, no deduplication, delivery limit 20. */
    public static QueueSettings defaults() {
        return new QueueSettings(0, -1, -1, -1, Overflow.DROP_HEAD, 20, false, false, 0, 0);
    }

    public QueueSettings withMaxPriority(int value) {
        return new QueueSettings(
                value,
                messageTtlMs,
                maxLength,
                maxLengthBytes,
                overflow,
                deliveryLimit,
                deadLetterExchangeSet,
                singleActiveConsumer,
                dedupWindowMs,
                dedupMaxKeys);
    }

    public QueueSettings withMessageTtlMs(long value) {
        return new QueueSettings(
                maxPriority,
                value,
                maxLength,
                maxLengthBytes,
                overflow,
                deliveryLimit,
                deadLetterExchangeSet,
                singleActiveConsumer,
                dedupWindowMs,
                dedupMaxKeys);
    }

    public QueueSettings withMaxLength(long length, long bytes, Overflow value) {
        return new QueueSettings(
                maxPriority,
                messageTtlMs,
                length,
                bytes,
                value,
                deliveryLimit,
                deadLetterExchangeSet,
                singleActiveConsumer,
                dedupWindowMs,
                dedupMaxKeys);
    }

    public QueueSettings withDeliveryLimit(int value) {
        return new QueueSettings(
                maxPriority,
                messageTtlMs,
                maxLength,
                maxLengthBytes,
                overflow,
                value,
                deadLetterExchangeSet,
                singleActiveConsumer,
                dedupWindowMs,
                dedupMaxKeys);
    }

    public QueueSettings withDeadLetterExchange(boolean value) {
        return new QueueSettings(
                maxPriority,
                messageTtlMs,
                maxLength,
                maxLengthBytes,
                overflow,
                deliveryLimit,
                value,
                singleActiveConsumer,
                dedupWindowMs,
                dedupMaxKeys);
    }

    public QueueSettings withSingleActiveConsumer(boolean value) {
        return new QueueSettings(
                maxPriority,
                messageTtlMs,
                maxLength,
                maxLengthBytes,
                overflow,
                deliveryLimit,
                deadLetterExchangeSet,
                value,
                dedupWindowMs,
                dedupMaxKeys);
    }

    public QueueSettings withDedup(long windowMs, int maxKeys) {
        return new QueueSettings(
                maxPriority,
                messageTtlMs,
                maxLength,
                maxLengthBytes,
                overflow,
                deliveryLimit,
                deadLetterExchangeSet,
                singleActiveConsumer,
                windowMs,
                maxKeys);
    }

    void writeTo(DataOutputStream out) throws IOException {
        out.writeByte(maxPriority);
        out.writeLong(messageTtlMs);
        out.writeLong(maxLength);
        out.writeLong(maxLengthBytes);
        out.writeByte(overflow.ordinal());
        out.writeInt(deliveryLimit);
        out.writeBoolean(deadLetterExchangeSet);
        out.writeBoolean(singleActiveConsumer);
        out.writeLong(dedupWindowMs);
        out.writeInt(dedupMaxKeys);
    }

    static QueueSettings readFrom(DataInputStream in) throws IOException {
        int maxPriority = in.readUnsignedByte();
        long messageTtlMs = in.readLong();
        long maxLength = in.readLong();
        long maxLengthBytes = in.readLong();
        int overflow = in.readUnsignedByte();
        if (overflow >= Overflow.values().length) {
            throw new IOException("unknown overflow " + overflow);
        }
        return new QueueSettings(
                maxPriority,
                messageTtlMs,
                maxLength,
                maxLengthBytes,
                Overflow.values()[overflow],
                in.readInt(),
                in.readBoolean(),
                in.readBoolean(),
                in.readLong(),
                in.readInt());
    }
}
