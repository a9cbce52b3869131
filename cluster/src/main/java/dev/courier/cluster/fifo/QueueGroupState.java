package dev.courier.cluster.fifo;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;

/**
 * Every quorum queue of one Raft group: the deterministic state machine after RabbitMQ's
 * rabbit_fifo. Commands go in with their log index and log time, replies and {@link Effect}s come
 * out; replicas that apply the same commands in the same order hold byte-identical state ({@link
 * #writeSnapshot}). It never reads a clock, does no I/O besides the snapshot streams and starts no
 * threads.
 *
 * <p>Not thread-safe: the group's apply thread owns it, including the read-only views.
 */
public final class QueueGroupState {
    private static final int SNAPSHOT_MAGIC = 0x43514753; // "CQGS"
    private static final int SNAPSHOT_VERSION = 2; // 2: consumers record exclusive use

    /** By name, so everything that walks all queues (tick, node down, snapshot) has one order. */
    private final TreeMap<String, QuorumQueue> queues = new TreeMap<>();

    private long lastAppliedIndex;

    public QueueGroupState() {}

    /**
     * Applies one command taken from log entry {@code index}, whose time is {@code timeMs} (the
     * entry's time: never read a clock). Appends side effects to {@code effects}; returns the
     * command's reply (never null).
     */
    public Reply apply(long index, long timeMs, Command command, Effects effects) {
        lastAppliedIndex = index;
        if (command instanceof Command.Tick) {
            for (QuorumQueue queue : queues.values()) {
                queue.tick(timeMs, effects);
            }
            return Reply.OK;
        }
        if (command instanceof Command.NodeDown down) {
            for (QuorumQueue queue : queues.values()) {
                queue.nodeDown(timeMs, down.node(), effects);
            }
            return Reply.OK;
        }
        if (command instanceof Command.DeclareQueue declare) {
            queues.computeIfAbsent(declare.queue(), name -> new QuorumQueue(name, declare.settings()));
            return Reply.OK;
        }
        String name = queueOf(command);
        QuorumQueue queue = queues.get(name);
        if (queue == null) {
            return new Reply.NoSuchQueue(name);
        }
        if (command instanceof Command.Enqueue enqueue) {
            return new Reply.Enqueued(queue.enqueue(timeMs, enqueue, effects));
        } else if (command instanceof Command.Checkout checkout) {
            return queue.checkout(timeMs, checkout, effects);
        } else if (command instanceof Command.Settle settle) {
            queue.settle(timeMs, settle.consumerId(), settle.msgIds(), effects);
        } else if (command instanceof Command.Return ret) {
            queue.returnMessages(timeMs, ret.consumerId(), ret.msgIds(), true, effects);
        } else if (command instanceof Command.Release release) {
            queue.returnMessages(timeMs, release.consumerId(), release.msgIds(), false, effects);
        } else if (command instanceof Command.Discard discard) {
            queue.discard(timeMs, discard.consumerId(), discard.msgIds(), effects);
        } else if (command instanceof Command.Cancel cancel) {
            queue.cancel(timeMs, cancel.consumerId(), effects);
        } else if (command instanceof Command.Detach detach) {
            queue.detach(timeMs, detach.consumerId(), effects);
        } else if (command instanceof Command.Get get) {
            return queue.get(timeMs, get, effects);
        } else if (command instanceof Command.Purge) {
            return new Reply.Count(queue.purge());
        } else if (command instanceof Command.DeleteQueue) {
            queues.remove(name);
            return new Reply.Count(queue.delete(effects));
        } else {
            throw new IllegalArgumentException("unhandled command " + command);
        }
        return Reply.OK;
    }

    /** The index of the last log entry applied (0 before any), as restored from a snapshot. */
    public long lastAppliedIndex() {
        return lastAppliedIndex;
    }

    /** Read-only view for stats/management: null when no such queue. */
    public QueueView queue(String name) {
        QuorumQueue queue = queues.get(name);
        return queue == null ? null : queue.view();
    }

    /** The queue's lifetime counters; null when no such queue. */
    public QueueStats stats(String name) {
        QuorumQueue queue = queues.get(name);
        return queue == null ? null : queue.stats();
    }

    /** The queue's consumers (basic.get holders included) in checkout order; empty when no such queue. */
    public List<ConsumerView> consumers(String name) {
        QuorumQueue queue = queues.get(name);
        return queue == null ? List.of() : queue.consumerViews();
    }

    /** The queue names, sorted; a read-only view. */
    public Set<String> queueNames() {
        return Collections.unmodifiableSet(queues.keySet());
    }

    /** Writes the whole state; equal states write equal bytes. */
    public void writeSnapshot(DataOutputStream out) throws IOException {
        out.writeInt(SNAPSHOT_MAGIC);
        out.writeInt(SNAPSHOT_VERSION);
        out.writeLong(lastAppliedIndex);
        out.writeInt(queues.size());
        for (QuorumQueue queue : queues.values()) {
            queue.writeTo(out);
        }
    }

    /** Reads a state written by {@link #writeSnapshot}. */
    public static QueueGroupState readSnapshot(DataInputStream in) throws IOException {
        int magic = in.readInt();
        if (magic != SNAPSHOT_MAGIC) {
            throw new IOException("not a queue group snapshot (magic " + Integer.toHexString(magic) + ")");
        }
        int version = in.readInt();
        if (version != SNAPSHOT_VERSION) {
            throw new IOException("unsupported queue group snapshot version " + version);
        }
        QueueGroupState state = new QueueGroupState();
        state.lastAppliedIndex = in.readLong();
        int count = Wire.readCount(in);
        for (int i = 0; i < count; i++) {
            QuorumQueue queue = QuorumQueue.readFrom(in);
            state.queues.put(queue.name(), queue);
        }
        return state;
    }

    /**
     * The queue a command is about: null for commands about every queue of the group ({@code
     * Tick}, {@code NodeDown}).
     */
    public static String queueOf(Command command) {
        if (command instanceof Command.Tick || command instanceof Command.NodeDown) {
            return null;
        }
        if (command instanceof Command.DeclareQueue c) {
            return c.queue();
        }
        if (command instanceof Command.Enqueue c) {
            return c.queue();
        } else if (command instanceof Command.Checkout c) {
            return c.queue();
        } else if (command instanceof Command.Settle c) {
            return c.queue();
        } else if (command instanceof Command.Return c) {
            return c.queue();
        } else if (command instanceof Command.Release c) {
            return c.queue();
        } else if (command instanceof Command.Discard c) {
            return c.queue();
        } else if (command instanceof Command.Detach c) {
            return c.queue();
        } else if (command instanceof Command.Cancel c) {
            return c.queue();
        } else if (command instanceof Command.Get c) {
            return c.queue();
        } else if (command instanceof Command.Purge c) {
            return c.queue();
        } else if (command instanceof Command.DeleteQueue c) {
            return c.queue();
        }
        throw new IllegalArgumentException("unhandled command " + command);
    }
}
