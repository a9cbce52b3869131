package dev.courier.broker;

import dev.courier.cluster.QuorumQueueListener;
import dev.courier.cluster.QuorumQueues;
import dev.courier.cluster.fifo.Effect;
import dev.courier.cluster.fifo.Overflow;
import dev.courier.cluster.fifo.QueueSettings;
import dev.courier.cluster.fifo.QueueView;
import dev.courier.protocol.FieldTables;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The quorum queues this node knows of, and the bridge from the cluster's effects to them. Every
 * node hears every declare (through the Raft log), so each one creates its own {@link
 * QuorumQueue} for it in the right virtual host; effects are then handed to that object.
 *
 * <p>Inactive (quorum queues refused) until {@link #attach} gives it the running cluster.
 * Listener methods run on the groups' apply threads.
 */
public final class QuorumDirectory implements QuorumQueueListener {
    private static final Logger LOG = LoggerFactory.getLogger(QuorumDirectory.class);
    /** RabbitMQ's default delivery limit for quorum queues. */
    static final int DEFAULT_DELIVERY_LIMIT = 20;

    private final Function<String, VirtualHost> vhosts;
    private final Map<String, QuorumQueue> queues = new ConcurrentHashMap<>();
    /**
     * Quorum queues declared in a vhost this node does not have yet (in a cluster the vhost comes
     * from the metadata group, whose log may be applied after the queue's group): key to
     * definition. Guarded by itself, together with the vhost lookup, so a vhost added meanwhile is
     * never missed.
     */
    private final Map<String, byte[]> waitingForVhost = new LinkedHashMap<>();

    private volatile QuorumQueues cluster;
    private volatile String nodeId = "";
    /** Queue groups of the cluster (set before it starts), to tell which queues a group holds. */
    private volatile int groupCount;
    /** This process's publisher identity: a restarted node must not look like its old self. */
    private final String incarnation =
            Long.toHexString(java.util.concurrent.ThreadLocalRandom.current().nextLong());

    QuorumDirectory(Function<String, VirtualHost> vhosts) {
        this.vhosts = vhosts;
    }

    /** Starts serving quorum queues through {@code running}. */
    public void attach(QuorumQueues running) {
        this.nodeId = running.nodeId();
        this.cluster = running;
    }

    /** Sets the node id before the cluster starts (its start replays the log into this directory). */
    public void nodeId(String id) {
        this.nodeId = id;
    }

    /**
     * Sets the node id and the number of queue groups before the cluster starts: a group restored
     * from a snapshot at start must only drop the queues it holds, not those of the others.
     */
    public void nodeId(String id, int queueGroups) {
        this.nodeId = id;
        this.groupCount = queueGroups;
    }

    boolean active() {
        return cluster != null;
    }

    String nodeId() {
        return nodeId;
    }

    /** The publisher id of this node's publishes: node id and incarnation. */
    String publisherId() {
        return nodeId + "@" + incarnation;
    }

    QuorumQueues cluster() {
        QuorumQueues running = cluster;
        if (running == null) {
            throw AmqpException.preconditionFailed("quorum queues need a cluster (--node-id, --cluster)");
        }
        return running;
    }

    /** The running cluster, or null when this node is not in one. */
    public QuorumQueues clusterOrNull() {
        return cluster;
    }

    static String key(String vhost, String queue) {
        return vhost + '\u0000' + queue;
    }

    /** The replicated form of a declare: vhost, name, auto-delete and arguments as a field table. */
    static byte[] definition(String vhost, String queue, boolean autoDelete, Map<String, Object> arguments) {
        Map<String, Object> table = new LinkedHashMap<>();
        table.put("vhost", vhost);
        table.put("name", queue);
        table.put("auto_delete", autoDelete);
        table.put("arguments", arguments);
        return FieldTables.toBytes(table);
    }

    /** The state machine's view of the arguments; quorum queues default to a delivery limit of 20. */
    static QueueSettings settings(QueueArguments a) {
        Overflow overflow =
                switch (a.overflow()) {
                    case DROP_HEAD -> Overflow.DROP_HEAD;
                    case REJECT_PUBLISH -> Overflow.REJECT_PUBLISH;
                    case REJECT_PUBLISH_DLX -> Overflow.REJECT_PUBLISH_DLX;
                };
        return new QueueSettings(
                a.maxPriority(),
                a.messageTtlMs(),
                a.maxLength(),
                a.maxLengthBytes(),
                overflow,
                a.deliveryLimit() < 0 ? DEFAULT_DELIVERY_LIMIT : (int) Math.min(Integer.MAX_VALUE, a.deliveryLimit()),
                a.deadLettering(),
                a.singleActiveConsumer(),
                a.deduplication() ? a.deduplicationWindowMs() : 0,
                a.deduplication() ? (int) Math.min(Integer.MAX_VALUE, a.deduplicationMaxKeys()) : 0);
    }

    /** Registers the object a local declare created before it is replicated. */
    void register(QuorumQueue queue) {
        queues.put(queue.key(), queue);
    }

    void forget(QuorumQueue queue) {
        queues.remove(queue.key(), queue);
    }

    // ---------------------------------------------------------------- listener (apply threads)

    @Override
    public void declared(String queue, byte[] definition) {
        if (queues.containsKey(queue)) {
            return;
        }
        Map<String, Object> table = FieldTables.fromBytes(definition);
        String vhostName = String.valueOf(table.get("vhost"));
        VirtualHost vhost;
        synchronized (waitingForVhost) {
            vhost = vhosts.apply(vhostName);
            if (vhost == null) {
                LOG.info(
                        "quorum queue '{}' is declared in vhost '{}', which this node does not have (yet)",
                        table.get("name"),
                        vhostName);
                waitingForVhost.put(queue, definition);
                return;
            }
            waitingForVhost.remove(queue);
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> arguments = (Map<String, Object>) table.get("arguments");
        QuorumQueue created = vhost.attachQuorumQueue(
                String.valueOf(table.get("name")), Boolean.TRUE.equals(table.get("auto_delete")), arguments, this);
        if (created != null) {
            queues.put(queue, created);
        }
    }

    /** A vhost now exists here: attaches the quorum queues declared in it before it did. */
    void vhostAdded(String vhost) {
        Map<String, byte[]> ready = new LinkedHashMap<>();
        synchronized (waitingForVhost) {
            waitingForVhost.entrySet().removeIf(waiting -> {
                boolean inVhost = waiting.getKey().startsWith(vhost + '\u0000');
                if (inVhost) {
                    ready.put(waiting.getKey(), waiting.getValue());
                }
                return inVhost;
            });
        }
        ready.forEach(this::declared);
    }

    /**
     * Bindings live in the metadata group now ({@link ReplicatedDefinitions}); a binding entry in a
     * queue group's log is from an older version and is ignored.
     */
    @Override
    public void bound(String queue, byte[] binding) {}

    @Override
    public void unbound(String queue, byte[] binding) {}

    @Override
    public void deleted(String queue) {
        synchronized (waitingForVhost) {
            waitingForVhost.remove(queue);
        }
        QuorumQueue removed = queues.remove(queue);
        if (removed != null) {
            removed.onDeleted();
            removed.vhost().detachQuorumQueue(removed);
        }
    }

    @Override
    public void restored(String group, Map<String, byte[]> definitions) {
        int groups = groupCount;
        for (QuorumQueue known : queues.values()) {
            boolean inGroup =
                    groups == 0 || QuorumQueues.groupOf(known.key(), groups).equals(group);
            if (inGroup && !definitions.containsKey(known.key())) {
                deleted(known.key());
            }
        }
        definitions.forEach(this::declared);
    }

    @Override
    public void counts(QueueView view) {
        QuorumQueue queue = queues.get(view.name());
        if (queue != null) {
            queue.onCounts(view);
        }
    }

    @Override
    public void deliver(Effect.Deliver delivery) {
        QuorumQueue queue = queues.get(delivery.queue());
        if (queue != null) {
            queue.onDeliver(delivery);
        }
    }

    @Override
    public void deadLetter(Effect.DeadLettered deadLettered) {
        QuorumQueue queue = queues.get(deadLettered.queue());
        if (queue != null) {
            queue.onDeadLettered(deadLettered);
        }
    }

    @Override
    public void nodeDown(String group, String node) {
        QuorumQueues running = cluster;
        if (!node.equals(nodeId) || running == null) {
            return; // at start-up (not attached yet) this node has no consumers to lose
        }
        for (QuorumQueue queue : queues.values()) {
            if (running.groupOf(queue.key()).equals(group)) {
                queue.onConsumersLost();
            }
        }
    }

    @Override
    public void consumerCancelled(Effect.ConsumerCancelled cancelled) {
        QuorumQueue queue = queues.get(cancelled.queue());
        if (queue != null) {
            queue.onConsumerCancelled(cancelled.consumerId());
        }
    }
}
