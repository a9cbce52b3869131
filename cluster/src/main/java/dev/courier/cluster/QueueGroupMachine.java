package dev.courier.cluster;

import dev.courier.cluster.fifo.Command;
import dev.courier.cluster.fifo.Effect;
import dev.courier.cluster.fifo.Effects;
import dev.courier.cluster.fifo.QueueGroupState;
import dev.courier.cluster.fifo.QueueView;
import dev.courier.cluster.fifo.Reply;
import dev.courier.cluster.raft.ReplicatedStateMachine;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The state machine of one Raft group of quorum queues: the queues' {@link QueueGroupState} plus
 * each queue's definition (the broker's encoded declare: vhost, name, arguments), so that every
 * node, including one that restarts from a snapshot, knows which queues exist.
 *
 * <p>Entries are {@link Envelope}s: a definition change, or a queue command. Effects meant for this
 * node go to the {@link QuorumQueueListener}. Runs on the group's apply thread only.
 */
final class QueueGroupMachine implements ReplicatedStateMachine {
    private static final Logger LOG = LoggerFactory.getLogger(QueueGroupMachine.class);
    private final String group;
    private final String nodeId;
    private final QuorumQueueListener listener;
    private final Effects effects = new Effects();
    private QueueGroupState state = new QueueGroupState();
    private final TreeMap<String, byte[]> definitions = new TreeMap<>();
    /** Bindings to each queue: queue to (binding key to the broker's encoded binding). */
    private final TreeMap<String, TreeMap<String, byte[]>> bindings = new TreeMap<>();

    private volatile boolean leader;

    QueueGroupMachine(String group, String nodeId, QuorumQueueListener listener) {
        this.group = group;
        this.nodeId = nodeId;
        this.listener = listener;
    }

    boolean isLeader() {
        return leader;
    }

    @Override
    public byte[] apply(long index, long timeMs, byte[] entry, boolean leaderNow) {
        try {
            DataInputStream in = new DataInputStream(new ByteArrayInputStream(entry));
            int kind = in.readUnsignedByte();
            Reply reply;
            byte[] extra = null;
            switch (kind) {
                case Envelope.DECLARE -> {
                    String queue = in.readUTF();
                    byte[] definition = in.readNBytes(in.readInt());
                    Command declare = Command.readFrom(in);
                    byte[] existing = definitions.get(queue);
                    if (existing == null) {
                        definitions.put(queue, definition);
                        reply = state.apply(index, timeMs, declare, effects);
                        listener.declared(queue, definition);
                        extra = definition;
                    } else {
                        reply = Reply.OK;
                        extra = existing; // the proposer compares: a different definition is a 406
                    }
                }
                case Envelope.DELETE -> {
                    String queue = in.readUTF();
                    Command delete = Command.readFrom(in);
                    reply = state.apply(index, timeMs, delete, effects);
                    dispatch(leaderNow);
                    bindings.remove(queue);
                    if (definitions.remove(queue) != null) {
                        listener.deleted(queue);
                    }
                }
                case Envelope.BIND, Envelope.UNBIND -> {
                    String queue = in.readUTF();
                    String bindingKey = in.readUTF();
                    byte[] binding = in.readNBytes(in.readInt());
                    if (!definitions.containsKey(queue)) {
                        reply = new Reply.NoSuchQueue(queue);
                    } else if (kind == Envelope.BIND) {
                        bindings.computeIfAbsent(queue, q -> new TreeMap<>()).put(bindingKey, binding);
                        listener.bound(queue, binding);
                        reply = Reply.OK;
                    } else {
                        TreeMap<String, byte[]> ofQueue = bindings.get(queue);
                        if (ofQueue != null && ofQueue.remove(bindingKey) != null) {
                            listener.unbound(queue, binding);
                        }
                        reply = Reply.OK;
                    }
                }
                case Envelope.COMMAND -> {
                    Command command = Command.readFrom(in);
                    reply = state.apply(index, timeMs, command, effects);
                    if (command instanceof Command.NodeDown down) {
                        listener.nodeDown(group, down.node());
                    }
                    String queue = QueueGroupState.queueOf(command);
                    if (queue != null) {
                        reportCounts(queue);
                    } else {
                        definitions.keySet().forEach(this::reportCounts);
                    }
                }
                default -> throw new IOException("unknown envelope kind " + kind);
            }
            dispatch(leaderNow);
            return Envelope.reply(reply, extra);
        } catch (IOException e) {
            throw new UncheckedIOException("undecodable entry at index " + index + " of group " + group, e);
        }
    }

    private void dispatch(boolean leaderNow) {
        for (Effect effect : effects.list()) {
            if (effect instanceof Effect.Deliver deliver) {
                if (deliver.node().equals(nodeId)) {
                    listener.deliver(deliver);
                }
            } else if (effect instanceof Effect.DeadLettered dead) {
                if (leaderNow) {
                    listener.deadLetter(dead);
                }
            } else if (effect instanceof Effect.ConsumerCancelled cancelled) {
                if (cancelled.node().equals(nodeId)) {
                    listener.consumerCancelled(cancelled);
                }
            }
        }
        effects.clear();
    }

    /** Tells the listener a queue's counts; after every command, since not all of them have effects. */
    private void reportCounts(String queue) {
        QueueView view = state.queue(queue);
        if (view != null) {
            listener.counts(view);
        }
    }

    @Override
    public void writeSnapshot(OutputStream out) throws IOException {
        DataOutputStream data = new DataOutputStream(out);
        data.writeInt(definitions.size());
        for (Map.Entry<String, byte[]> e : definitions.entrySet()) {
            data.writeUTF(e.getKey());
            data.writeInt(e.getValue().length);
            data.write(e.getValue());
        }
        data.writeInt(bindings.size());
        for (Map.Entry<String, TreeMap<String, byte[]>> queue : bindings.entrySet()) {
            data.writeUTF(queue.getKey());
            data.writeInt(queue.getValue().size());
            for (Map.Entry<String, byte[]> binding : queue.getValue().entrySet()) {
                data.writeUTF(binding.getKey());
                data.writeInt(binding.getValue().length);
                data.write(binding.getValue());
            }
        }
        state.writeSnapshot(data);
        data.flush();
    }

    @Override
    public void readSnapshot(InputStream in) throws IOException {
        DataInputStream data = new DataInputStream(in);
        int count = data.readInt();
        TreeMap<String, byte[]> read = new TreeMap<>();
        for (int i = 0; i < count; i++) {
            String queue = data.readUTF();
            read.put(queue, data.readNBytes(data.readInt()));
        }
        TreeMap<String, TreeMap<String, byte[]>> readBindings = new TreeMap<>();
        int queues = data.readInt();
        for (int i = 0; i < queues; i++) {
            String queue = data.readUTF();
            TreeMap<String, byte[]> ofQueue = new TreeMap<>();
            int n = data.readInt();
            for (int j = 0; j < n; j++) {
                String bindingKey = data.readUTF();
                ofQueue.put(bindingKey, data.readNBytes(data.readInt()));
            }
            readBindings.put(queue, ofQueue);
        }
        state = QueueGroupState.readSnapshot(data);
        definitions.clear();
        definitions.putAll(read);
        bindings.clear();
        bindings.putAll(readBindings);
        listener.restored(group, Map.copyOf(definitions));
        bindings.forEach((queue, ofQueue) -> ofQueue.values().forEach(binding -> listener.bound(queue, binding)));
        for (String queue : definitions.keySet()) {
            reportCounts(queue);
        }
    }

    @Override
    public void leadershipChanged(boolean nowLeader) {
        leader = nowLeader;
        LOG.info(
                "quorum queue group {}: node {} is {} ({} queue(s))",
                group,
                nodeId,
                nowLeader ? "the leader now" : "a follower now",
                definitions.size());
    }

    /** The binary form of entries and replies. */
    static final class Envelope {
        static final int DECLARE = 1;
        static final int DELETE = 2;
        static final int COMMAND = 3;
        static final int BIND = 4;
        static final int UNBIND = 5;

        private Envelope() {}

        static byte[] declare(String queue, byte[] definition, Command.DeclareQueue declare) {
            return write(out -> {
                out.writeByte(DECLARE);
                out.writeUTF(queue);
                out.writeInt(definition.length);
                out.write(definition);
                declare.writeTo(out);
            });
        }

        static byte[] delete(Command.DeleteQueue delete) {
            return write(out -> {
                out.writeByte(DELETE);
                out.writeUTF(delete.queue());
                delete.writeTo(out);
            });
        }

        static byte[] binding(boolean bind, String queue, String bindingKey, byte[] binding) {
            return write(out -> {
                out.writeByte(bind ? BIND : UNBIND);
                out.writeUTF(queue);
                out.writeUTF(bindingKey);
                out.writeInt(binding.length);
                out.write(binding);
            });
        }

        static byte[] command(Command command) {
            return write(out -> {
                out.writeByte(COMMAND);
                command.writeTo(out);
            });
        }

        static byte[] reply(Reply reply, byte[] extra) throws IOException {
            return write(out -> {
                reply.writeTo(out);
                out.writeInt(extra == null ? -1 : extra.length);
                if (extra != null) {
                    out.write(extra);
                }
            });
        }

        /** A decoded reply: the queue state's answer and, for a declare, the definition in force. */
        record Answer(Reply reply, byte[] definition) {
            @Override
            public boolean equals(Object o) {
                return o instanceof Answer a && reply.equals(a.reply) && Arrays.equals(definition, a.definition);
            }

            @Override
            public int hashCode() {
                return 31 * reply.hashCode() + Arrays.hashCode(definition);
            }

            @Override
            public String toString() {
                return "Answer[" + reply + (definition == null ? "" : ", definition " + definition.length + " bytes")
                        + "]";
            }
        }

        static Answer answer(byte[] bytes) {
            try {
                DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes));
                Reply reply = Reply.readFrom(in);
                int length = in.readInt();
                return new Answer(reply, length < 0 ? null : in.readNBytes(length));
            } catch (IOException e) {
                throw new UncheckedIOException("undecodable reply", e);
            }
        }

        private interface Writer {
            void write(DataOutputStream out) throws IOException;
        }

        private static byte[] write(Writer writer) {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream(64);
            try (DataOutputStream out = new DataOutputStream(bytes)) {
                writer.write(out);
            } catch (IOException e) {
                throw new UncheckedIOException(e); // a byte array does not fail
            }
            return bytes.toByteArray();
        }
    }
}
