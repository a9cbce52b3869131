package dev.courier.cluster.fifo;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;

/**
 * One message held by a queue, ready or unacknowledged. It is its own list node (intrusive {@link
 * MessageList}) and remembers its slot in the {@link ExpiryIndex}, so moving or expiring it
 * allocates nothing: with compressed oops this is 56 bytes plus the body array.
 */
final class QueuedMessage {
    static final long NO_EXPIRY = Long.MAX_VALUE;

    final long id;
    final byte[] body;
    final long expiresAt;
    final byte priorityLevel;
    int deliveryCount;
    boolean redelivered;
    int heapIndex = -1;
    MessageList list;
    QueuedMessage prev;
    QueuedMessage next;

    QueuedMessage(long id, byte[] body, long expiresAt, int priorityLevel) {
        this.id = id;
        this.body = body;
        this.expiresAt = expiresAt;
        this.priorityLevel = (byte) priorityLevel;
    }

    int level() {
        return priorityLevel & 0xFF;
    }

    boolean hasExpiry() {
        return expiresAt != NO_EXPIRY;
    }

    void writeTo(DataOutputStream out) throws IOException {
        out.writeLong(id);
        out.writeByte(priorityLevel);
        out.writeLong(expiresAt);
        out.writeInt(deliveryCount);
        out.writeBoolean(redelivered);
        Wire.writeBytes(out, body);
    }

    static QueuedMessage readFrom(DataInputStream in) throws IOException {
        long id = in.readLong();
        int level = in.readUnsignedByte();
        long expiresAt = in.readLong();
        int deliveryCount = in.readInt();
        boolean redelivered = in.readBoolean();
        QueuedMessage message = new QueuedMessage(id, Wire.readBytes(in), expiresAt, level);
        message.deliveryCount = deliveryCount;
        message.redelivered = redelivered;
        return message;
    }
}
