package dev.courier.cluster.fifo;

/**
 * A doubly linked FIFO of {@link QueuedMessage}s threaded through the messages themselves, so a
 * message can leave from anywhere (expiry, ack) in O(1). A message is in at most one list.
 */
final class MessageList {
    private QueuedMessage head;
    private QueuedMessage tail;
    private int size;

    int size() {
        return size;
    }

    boolean isEmpty() {
        return size == 0;
    }

    QueuedMessage first() {
        return head;
    }

    void addLast(QueuedMessage message) {
        assert message.list == null;
        message.list = this;
        message.prev = tail;
        message.next = null;
        if (tail == null) {
            head = message;
        } else {
            tail.next = message;
        }
        tail = message;
        size++;
    }

    void addFirst(QueuedMessage message) {
        assert message.list == null;
        message.list = this;
        message.next = head;
        message.prev = null;
        if (head == null) {
            tail = message;
        } else {
            head.prev = message;
        }
        head = message;
        size++;
    }

    QueuedMessage pollFirst() {
        QueuedMessage message = head;
        if (message != null) {
            remove(message);
        }
        return message;
    }

    void remove(QueuedMessage message) {
        assert message.list == this;
        if (message.prev == null) {
            head = message.next;
        } else {
            message.prev.next = message.next;
        }
        if (message.next == null) {
            tail = message.prev;
        } else {
            message.next.prev = message.prev;
        }
        message.prev = null;
        message.next = null;
        message.list = null;
        size--;
    }
}
