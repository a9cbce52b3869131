package dev.courier.cluster.fifo;

/**
 * Finds an unacknowledged message of a queue by id, for settle/return/discard. Open addressing
 * with linear probing over message references (the key is the message's own id), so an entry
 * costs one reference slot instead of a boxed key and a map entry.
 */
final class UnackedIndex {
    private static final int MIN_CAPACITY = 16;

    private QueuedMessage[] table = new QueuedMessage[MIN_CAPACITY];
    private int size;

    int size() {
        return size;
    }

    QueuedMessage get(long id) {
        int mask = table.length - 1;
        for (int i = slot(id, mask); ; i = (i + 1) & mask) {
            QueuedMessage message = table[i];
            if (message == null) {
                return null;
            }
            if (message.id == id) {
                return message;
            }
        }
    }

    void put(QueuedMessage message) {
        if ((size + 1) * 2 > table.length) {
            resize(table.length * 2);
        }
        insert(table, message);
        size++;
    }

    void remove(QueuedMessage message) {
        int mask = table.length - 1;
        int i = slot(message.id, mask);
        while (table[i] != message) {
            if (table[i] == null) {
                return;
            }
            i = (i + 1) & mask;
        }
        table[i] = null;
        size--;
        // Backward-shift deletion: move later entries of the probe run into the hole.
        for (int j = (i + 1) & mask; table[j] != null; j = (j + 1) & mask) {
            int home = slot(table[j].id, mask);
            boolean reachable = i <= j ? (home <= i || home > j) : (home <= i && home > j);
            if (reachable) {
                table[i] = table[j];
                table[j] = null;
                i = j;
            }
        }
        if (table.length > MIN_CAPACITY && size * 8 < table.length) {
            resize(table.length / 2);
        }
    }

    private void resize(int capacity) {
        QueuedMessage[] bigger = new QueuedMessage[capacity];
        for (QueuedMessage message : table) {
            if (message != null) {
                insert(bigger, message);
            }
        }
        table = bigger;
    }

    private static void insert(QueuedMessage[] into, QueuedMessage message) {
        int mask = into.length - 1;
        int i = slot(message.id, mask);
        while (into[i] != null) {
            i = (i + 1) & mask;
        }
        into[i] = message;
    }

    private static int slot(long id, int mask) {
        long h = id * 0x9E3779B97F4A7C15L;
        return (int) (h >>> 32) & mask;
    }
}
