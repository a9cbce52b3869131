package dev.courier.server.forward;

import dev.courier.cluster.meta.MetaBatch;
import dev.courier.cluster.meta.MetaOp;
import dev.courier.cluster.meta.ReplicatedMetadata;
import dev.courier.protocol.FieldTables;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the nodes of a cluster need to reach each other's classic queues, kept in the metadata
 * group: each node's AMQP port ({@code node/ID}; the host is the one its Raft address names) and
 * the cluster's secret ({@code cluster-secret}, 32 random bytes, made once by the first node to
 * ask), which node links log in with. Both stay inside the cluster: the metadata group is only
 * readable by its nodes.
 */
public final class NodeDirectory {
    private static final Logger LOG = LoggerFactory.getLogger(NodeDirectory.class);
    private static final String SECRET = "cluster-secret";
    private static final String NODE = "node/";
    private static final long RETRY_MS = 1_000;

    private final String nodeId;
    private final Map<String, InetSocketAddress> peers;
    private final ReplicatedMetadata metadata;
    private volatile boolean closed;

    public NodeDirectory(String nodeId, Map<String, InetSocketAddress> peers, ReplicatedMetadata metadata) {
        this.nodeId = nodeId;
        this.peers = peers;
        this.metadata = metadata;
    }

    /** The cluster's secret, or null until one was committed. */
    public byte[] secret() {
        return metadata.get(SECRET);
    }

    /** Where {@code node} accepts AMQP connections, or null while it has not said. */
    public InetSocketAddress amqpAddress(String node) {
        byte[] record = metadata.get(NODE + node);
        InetSocketAddress raft = peers.get(node);
        if (record == null || raft == null) {
            return null;
        }
        Object port = FieldTables.fromBytes(record).get("amqp_port");
        return port instanceof Number n ? InetSocketAddress.createUnresolved(raft.getHostString(), n.intValue()) : null;
    }

    /**
     * Records this node's AMQP port and, unless the cluster has one, a secret; retried every
     * second on {@code retries} until the metadata group commits them (it may have no majority
     * yet).
     */
    public void announce(int amqpPort, ScheduledExecutorService retries) {
        byte[] secret = new byte[32];
        new SecureRandom().nextBytes(secret);
        submit(MetaBatch.of(new MetaOp.PutIfAbsent(SECRET, secret)), retries);
        submit(
                MetaBatch.of(new MetaOp.Put(NODE + nodeId, FieldTables.toBytes(Map.of("amqp_port", amqpPort)))),
                retries);
    }

    private void submit(MetaBatch batch, ScheduledExecutorService retries) {
        metadata.submit(batch).whenComplete((result, failure) -> {
            if (failure != null && !closed) {
                LOG.debug("could not record node '{}' in the cluster yet: {}", nodeId, failure.toString());
                retries.schedule(() -> submit(batch, retries), RETRY_MS, TimeUnit.MILLISECONDS);
            }
        });
    }

    /** Stops retrying. */
    public void close() {
        closed = true;
    }
}
