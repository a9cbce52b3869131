package dev.courier.store;

import io.netty.buffer.ByteBuf;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Publishes and removals gathered to be written as one unit by {@link
 * MessageStore#commit(StoreTransaction)}: after a crash all of them are recovered or none is. An
 * AMQP transaction's acknowledgements and publishes become one such unit, so "ack the input and
 * publish the output" cannot be half done.
 *
 * <p>Not thread-safe: one thread fills it, then commits or discards it exactly once.
 */
public final class StoreTransaction {
    private final List<WriteOp> publishes = new ArrayList<>();
    /** Message ids to remove, per queue id, in the order added. */
    private final Map<Integer, Removals> removals = new LinkedHashMap<>();

    private boolean finished;

    /**
     * Adds a message stored once and entered on {@code queues}, like {@link
     * MessageStore#publish(long, long, ByteBuf, ByteBuf, List)}; the transaction takes its own
     * references to the buffers' readable bytes.
     */
    public void publish(long messageId, long attributes, ByteBuf header, ByteBuf body, List<StoreQueue> queues) {
        checkOpen();
        publishes.add(MessageStore.publishOp(messageId, attributes, header, body, queues));
    }

    /** Adds the removal of a message from a queue (an acknowledgement). */
    public void remove(StoreQueue queue, long messageId) {
        checkOpen();
        MessageStore.checkMessageId(messageId);
        removals.computeIfAbsent(queue.id(), id -> new Removals()).add(messageId);
    }

    /** True if nothing was added. */
    public boolean isEmpty() {
        return publishes.isEmpty() && removals.isEmpty();
    }

    /** Drops what was added, releasing the held buffers; for a transaction never committed. */
    public void discard() {
        for (WriteOp op : take()) {
            op.releaseBuffers();
        }
    }

    /** The ops in log order (publishes, then removals per queue); ends the transaction. */
    List<WriteOp> take() {
        checkOpen();
        finished = true;
        List<WriteOp> ops = new ArrayList<>(publishes);
        for (Map.Entry<Integer, Removals> removal : removals.entrySet()) {
            Removals ids = removal.getValue();
            ops.add(new WriteOp.QueueEntries(RecordFormat.REMOVE, removal.getKey(), ids.ids, ids.count));
        }
        publishes.clear();
        removals.clear();
        return ops;
    }

    private static final class Removals {
        long[] ids = new long[8];
        int count;

        void add(long messageId) {
            if (count == ids.length) {
                ids = Arrays.copyOf(ids, count * 2);
            }
            ids[count++] = messageId;
        }
    }

    private void checkOpen() {
        if (finished) {
            throw new IllegalStateException("transaction already committed or discarded");
        }
    }
}
