package dev.courier.store;

/**
 * A handle to one durable queue's entries in a {@link MessageStore}, obtained from {@link
 * MessageStore#queue(String)}. Immutable and thread-safe; the id is the compact number the log
 * records use instead of the name.
 */
public final class StoreQueue {
    private final String name;
    private final int id;

    StoreQueue(String name, int id) {
        this.name = name;
        this.id = id;
    }

    public String name() {
        return name;
    }

    int id() {
        return id;
    }

    @Override
    public String toString() {
        return "StoreQueue[" + name + "#" + id + "]";
    }
}
