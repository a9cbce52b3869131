package dev.courier.cluster.fifo;

import java.util.Arrays;

/**
 * The ready messages that have a TTL, as a binary min-heap on (expiresAt, id) whose slots the
 * messages remember ({@link QueuedMessage#heapIndex}), so a message leaving the ready list is
 * removed in O(log n) and expiry finds due messages anywhere in the queue, not only at its head.
 * The order is total, so every replica expires in the same order whatever the heap's layout.
 */
final class ExpiryIndex {
    private QueuedMessage[] heap = new QueuedMessage[0];
    private int size;

    int size() {
        return size;
    }

    QueuedMessage peek() {
        return size == 0 ? null : heap[0];
    }

    void add(QueuedMessage message) {
        assert message.heapIndex < 0 && message.hasExpiry();
        if (size == heap.length) {
            heap = Arrays.copyOf(heap, Math.max(16, size * 2));
        }
        heap[size] = message;
        message.heapIndex = size;
        size++;
        siftUp(size - 1);
    }

    /** Removes the message if it is indexed. */
    void remove(QueuedMessage message) {
        int index = message.heapIndex;
        if (index < 0) {
            return;
        }
        message.heapIndex = -1;
        size--;
        if (index == size) {
            heap[size] = null;
        } else {
            QueuedMessage last = heap[size];
            heap[size] = null;
            heap[index] = last;
            last.heapIndex = index;
            siftDown(index);
            if (last.heapIndex == index) {
                siftUp(index);
            }
        }
        if (size == 0) {
            heap = new QueuedMessage[0];
        } else if (heap.length > 64 && size < heap.length / 4) {
            heap = Arrays.copyOf(heap, heap.length / 2);
        }
    }

    private static boolean before(QueuedMessage a, QueuedMessage b) {
        return a.expiresAt < b.expiresAt || (a.expiresAt == b.expiresAt && a.id < b.id);
    }

    private void siftUp(int index) {
        QueuedMessage moving = heap[index];
        while (index > 0) {
            int parent = (index - 1) >>> 1;
            if (!before(moving, heap[parent])) {
                break;
            }
            place(heap[parent], index);
            index = parent;
        }
        place(moving, index);
    }

    private void siftDown(int index) {
        QueuedMessage moving = heap[index];
        while (true) {
            int child = 2 * index + 1;
            if (child >= size) {
                break;
            }
            if (child + 1 < size && before(heap[child + 1], heap[child])) {
                child++;
            }
            if (!before(heap[child], moving)) {
                break;
            }
            place(heap[child], index);
            index = child;
        }
        place(moving, index);
    }

    private void place(QueuedMessage message, int index) {
        heap[index] = message;
        message.heapIndex = index;
    }
}
