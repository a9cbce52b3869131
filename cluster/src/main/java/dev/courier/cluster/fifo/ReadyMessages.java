package dev.courier.cluster.fifo;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;

/**
 * The ready messages of one queue in delivery order: first the returns (requeued messages, in the
 * order they came back, as rabbit_fifo serves them), then one FIFO per priority level, highest
 * level first. A bitmap of non-empty levels makes enqueue and dequeue O(1).
 */
final class ReadyMessages {
    private final MessageList returns = new MessageList();
    private final MessageList[] levels;
    private final long[] nonEmptyLevels = new long[4];
    private int count;
    private long bytes;

    ReadyMessages(int maxPriority) {
        levels = new MessageList[maxPriority + 1];
    }

    int count() {
        return count;
    }

    long bytes() {
        return bytes;
    }

    boolean isEmpty() {
        return count == 0;
    }

    /** Appends a new message to its priority level. */
    void add(QueuedMessage message) {
        int level = message.level();
        MessageList list = levels[level];
        if (list == null) {
            list = new MessageList();
            levels[level] = list;
        }
        list.addLast(message);
        nonEmptyLevels[level >>> 6] |= 1L << level;
        added(message);
    }

    /** Appends a requeued message to the returns, served before every other ready message. */
    void addReturn(QueuedMessage message) {
        returns.addLast(message);
        added(message);
    }

    /** Puts a requeued message in front of everything else. */
    void addReturnFirst(QueuedMessage message) {
        returns.addFirst(message);
        added(message);
    }

    /** The message that would be delivered next, or null. */
    QueuedMessage peek() {
        if (!returns.isEmpty()) {
            return returns.first();
        }
        int level = highestLevel();
        return level < 0 ? null : levels[level].first();
    }

    /** Removes and returns the message that would be delivered next, or null. */
    QueuedMessage poll() {
        QueuedMessage message = peek();
        if (message != null) {
            remove(message);
        }
        return message;
    }

    /** Removes a ready message from wherever it is. */
    void remove(QueuedMessage message) {
        MessageList list = message.list;
        list.remove(message);
        if (list != returns && list.isEmpty()) {
            int level = message.level();
            nonEmptyLevels[level >>> 6] &= ~(1L << level);
        }
        count--;
        bytes -= message.body.length;
    }

    /** Writes the returns, then each level's messages, highest level first. */
    void writeTo(DataOutputStream out) throws IOException {
        out.writeInt(returns.size());
        for (QueuedMessage m = returns.first(); m != null; m = m.next) {
            m.writeTo(out);
        }
        out.writeInt(count - returns.size());
        for (int level = levels.length - 1; level >= 0; level--) {
            MessageList list = levels[level];
            if (list != null) {
                for (QueuedMessage m = list.first(); m != null; m = m.next) {
                    m.writeTo(out);
                }
            }
        }
    }

    /** Reads what {@link #writeTo} wrote into this empty instance, indexing TTL'd messages. */
    void readFrom(DataInputStream in, ExpiryIndex expiry) throws IOException {
        int returnCount = Wire.readCount(in);
        for (int i = 0; i < returnCount; i++) {
            QueuedMessage m = readMessage(in, expiry);
            addReturn(m);
        }
        int otherCount = Wire.readCount(in);
        for (int i = 0; i < otherCount; i++) {
            QueuedMessage m = readMessage(in, expiry);
            if (m.level() >= levels.length) {
                throw new IOException("message " + m.id + " above the queue's max priority");
            }
            add(m);
        }
    }

    private static QueuedMessage readMessage(DataInputStream in, ExpiryIndex expiry) throws IOException {
        QueuedMessage m = QueuedMessage.readFrom(in);
        if (m.hasExpiry()) {
            expiry.add(m);
        }
        return m;
    }

    private void added(QueuedMessage message) {
        count++;
        bytes += message.body.length;
    }

    private int highestLevel() {
        for (int word = nonEmptyLevels.length - 1; word >= 0; word--) {
            long bits = nonEmptyLevels[word];
            if (bits != 0) {
                return word * 64 + 63 - Long.numberOfLeadingZeros(bits);
            }
        }
        return -1;
    }
}
