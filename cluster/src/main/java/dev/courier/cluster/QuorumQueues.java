package dev.courier.cluster;

import dev.courier.cluster.QueueGroupMachine.Envelope;
import dev.courier.cluster.fifo.Command;
import dev.courier.cluster.fifo.QueueSettings;
import dev.courier.cluster.fifo.Reply;
import dev.courier.cluster.meta.ReplicatedMetadata;
import dev.courier.cluster.raft.ClusterConfig;
import dev.courier.cluster.raft.RaftNode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This node's access to the replicated (quorum) queues of the cluster: a few Raft groups, each
 * holding many queues ({@link QueueGroupMachine}); a queue belongs to the group its name hashes
 * to. Commands may be submitted from any node: the Raft client forwards them to the group's
 * leader, and every node applies them, so deliveries to consumers connected here are made here.
 *
 * <p>The leader of each group proposes a {@link Command.Tick} every second (TTL expiry and the
 * deduplication window follow the log's time, not a local clock). A node that starts announces
 * itself with {@link Command.NodeDown} for its own id, so consumers it had before a crash release
 * their messages.
 *
 * <p>Thread-safe.
 */
public final class QuorumQueues implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(QuorumQueues.class);
    private static final long TICK_MS = 1_000;
    private static final long ANNOUNCE_TIMEOUT_MS = 30_000;

    private final RaftNode raft;
    private final String nodeId;
    private final List<String> groups;
    private final Map<String, QueueGroupMachine> machines = new ConcurrentHashMap<>();
    private final ScheduledExecutorService ticker;
    private final List<String> peers;
    /** Ticks (on a group's leader) a peer has not been heard from: "group/peer" to count. */
    private final Map<String, Integer> missedTicks = new ConcurrentHashMap<>();
    /** Logs other nodes joining and leaving; used by the ticker thread only. */
    private final MembershipLog membership;

    private final ReplicatedMetadata metadata;

    private QuorumQueues(ClusterConfig config, QuorumQueueListener listener, ReplicatedMetadata metadata)
            throws IOException {
        this.nodeId = config.nodeId();
        this.peers = List.copyOf(config.peers().keySet());
        this.metadata = metadata;
        this.raft = RaftNode.start(
                config,
                group -> group.equals(RaftNode.META_GROUP)
                        ? metadata.machine()
                        : machines.computeIfAbsent(group, g -> new QueueGroupMachine(g, config.nodeId(), listener)));
        metadata.attach(raft);
        this.groups = raft.groups();
        this.membership = new MembershipLog(nodeId, peers);
        this.ticker = Executors.newSingleThreadScheduledExecutor(task -> {
            Thread thread = new Thread(task, "courier-quorum-tick");
            thread.setDaemon(true);
            return thread;
        });
        announce();
        ticker.scheduleWithFixedDelay(this::tick, TICK_MS, TICK_MS, TimeUnit.MILLISECONDS);
    }

    /**
     * Releases whatever consumers this node had before it (re)started, in every group, before any
     * client of this start can check out; waits a while for a majority of the cluster.
     */
    private void announce() {
        List<CompletableFuture<byte[]>> announced = new ArrayList<>();
        for (String group : groups) {
            announced.add(raft.submit(group, Envelope.command(new Command.NodeDown(nodeId))));
        }
        try {
            CompletableFuture.allOf(announced.toArray(CompletableFuture[]::new))
                    .get(ANNOUNCE_TIMEOUT_MS, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            LOG.warn(
                    "no majority of the cluster answered within {} ms; quorum queues wait for it", ANNOUNCE_TIMEOUT_MS);
        } catch (ExecutionException e) {
            LOG.warn(
                    "could not announce node {} to its groups: {}",
                    nodeId,
                    e.getCause().toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Starts this node's Raft groups; the listener hears every queue of every group, and {@code
     * metadata} runs in the metadata group ({@link RaftNode#META_GROUP}).
     */
    public static QuorumQueues start(ClusterConfig config, QuorumQueueListener listener, ReplicatedMetadata metadata)
            throws IOException {
        return new QuorumQueues(config, listener, metadata);
    }

    /** The cluster's replicated metadata (vhosts, users, exchanges, bindings, ...). */
    public ReplicatedMetadata metadata() {
        return metadata;
    }

    public String nodeId() {
        return nodeId;
    }

    /** Every node of the cluster (each holds a replica of every group). */
    public List<String> members() {
        return peers;
    }

    /** The Raft layer, for status. */
    public RaftNode raft() {
        return raft;
    }

    /** The group a queue lives in: a stable hash of its name, the same on every node. */
    public String groupOf(String queue) {
        return groups.get(Math.floorMod(queue.hashCode(), groups.size()));
    }

    /**
     * {@link #groupOf} for a cluster of {@code groupCount} queue groups, before it runs (a node's
     * start replays the groups into the broker, which must know which queues a group holds).
     */
    public static String groupOf(String queue, int groupCount) {
        return "g" + Math.floorMod(queue.hashCode(), groupCount);
    }

    /**
     * Declares a queue with the broker's encoded {@code definition}; completes with the definition
     * in force (the given one, or the one declared first when the queue already existed).
     */
    public CompletableFuture<byte[]> declare(String queue, byte[] definition, QueueSettings settings) {
        return raft.submit(
                        groupOf(queue), Envelope.declare(queue, definition, new Command.DeclareQueue(queue, settings)))
                .thenApply(bytes -> Envelope.answer(bytes).definition());
    }

    /**
     * Replicates a binding to a queue (or its removal); {@code bindingKey} identifies it among
     * the queue's bindings, {@code binding} is the broker's encoding. Every node hears {@link
     * QuorumQueueListener#bound} (or {@code unbound}).
     */
    public CompletableFuture<Reply> binding(boolean bind, String queue, String bindingKey, byte[] binding) {
        return replyTo(queue, Envelope.binding(bind, queue, bindingKey, binding));
    }

    /** Deletes a queue; completes with the number of messages it dropped. */
    public CompletableFuture<Reply> delete(String queue) {
        return replyTo(queue, Envelope.delete(new Command.DeleteQueue(queue)));
    }

    /**
     * Submits a command about one queue (enqueue, checkout, settle, ...). Commands submitted from
     * this node to one queue are applied in the order submitted.
     */
    public CompletableFuture<Reply> submit(String queue, Command command) {
        return replyTo(queue, Envelope.command(command)).whenComplete((reply, failure) -> {
            if (failure != null) {
                // the Raft client retried through elections for its whole window first
                LOG.warn(
                        "{} on quorum queue {} failed: {}",
                        command.getClass().getSimpleName(),
                        queue,
                        failure.toString());
            }
        });
    }

    /** Submits an entry about one queue to the queue's group; completes with the state's reply. */
    private CompletableFuture<Reply> replyTo(String queue, byte[] entry) {
        return raft.submit(groupOf(queue), entry)
                .thenApply(bytes -> Envelope.answer(bytes).reply());
    }

    private void tick() {
        try {
            membership.observe(raft.status()); // on every node, leader or not
        } catch (RuntimeException e) {
            // a throwing task would end the fixed-delay schedule, and with it the ticks
            LOG.debug("could not read the cluster status: {}", e.toString());
        }
        for (String group : groups) {
            QueueGroupMachine machine = machines.get(group);
            if (machine != null && machine.isLeader()) {
                releaseConsumersOfDownNodes(group);
                raft.submit(group, Envelope.command(new Command.Tick())).whenComplete((reply, failure) -> {
                    if (failure != null) {
                        LOG.debug("tick of group {} failed: {}", group, failure.toString());
                    }
                });
            }
        }
    }

    /**
     * On a group's leader: a node not heard from for two ticks has its consumers released (their
     * messages go to other consumers), once per outage. A node that was only cut off learns of it
     * when the entry reaches it, and cancels its consumers.
     */
    private void releaseConsumersOfDownNodes(String group) {
        List<String> up = raft.status().group(group).peersUp();
        for (String peer : peers) {
            if (up.contains(peer)) {
                missedTicks.remove(group + '/' + peer);
                continue;
            }
            int missed = missedTicks.merge(group + '/' + peer, 1, Integer::sum);
            if (missed == 2) {
                // MembershipLog warns once that the node left; this is the action taken per group
                LOG.info("releasing the messages of node {}'s consumers in group {}", peer, group);
                raft.submit(group, Envelope.command(new Command.NodeDown(peer)));
            }
        }
    }

    @Override
    public void close() {
        ticker.shutdownNow();
        raft.close();
        metadata.close();
    }
}
