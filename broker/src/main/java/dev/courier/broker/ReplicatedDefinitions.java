package dev.courier.broker;

import dev.courier.cluster.meta.MetaBatch;
import dev.courier.cluster.meta.MetaChange;
import dev.courier.cluster.meta.MetaOp;
import dev.courier.cluster.meta.MetaResult;
import dev.courier.cluster.meta.ReplicatedMetadata;
import dev.courier.protocol.FieldTables;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The broker's definitions in the cluster's metadata group: in a cluster, vhosts, exchanges and
 * bindings are changed by proposing them to the group and created or removed on this node only
 * when the group applies them (on every node alike, the proposer included), so the group's log
 * order decides between nodes that change the same thing at once. Single-node brokers do not use
 * it.
 *
 * <p>Keys (values are AMQP field tables):
 *
 * <pre>
 * vhost/NAME
 * exchange/VHOST\0NAME                                         type durable auto_delete internal arguments
 * binding/VHOST\0SOURCE\0DEST_TYPE\0DEST\0ROUTING_KEY\0ARGS_HEX   source destination destination_type routing_key arguments
 * </pre>
 *
 * <p>Threading: {@link #changed} and {@link #restored} run on the metadata group's apply thread;
 * proposals may be made from any thread and never hold a vhost lock while they wait.
 */
public final class ReplicatedDefinitions {
    private static final Logger LOG = LoggerFactory.getLogger(ReplicatedDefinitions.class);
    static final String VHOST = "vhost/";
    static final String EXCHANGE = "exchange/";
    static final String BINDING = "binding/";
    /** How long a blocking proposal (management API, vhosts) waits for its commit. */
    static final long COMMIT_TIMEOUT_MS = 30_000;

    private final Broker broker;
    private volatile ReplicatedMetadata meta;

    ReplicatedDefinitions(Broker broker) {
        this.broker = broker;
    }

    /** Starts proposing through the running metadata group. */
    public void attach(ReplicatedMetadata running) {
        this.meta = running;
    }

    /** Whether a metadata key is the broker's (the others are the server's: users, permissions). */
    public static boolean owns(String key) {
        return key.startsWith(VHOST) || key.startsWith(EXCHANGE) || key.startsWith(BINDING);
    }

    static String vhostKey(String vhost) {
        return VHOST + vhost;
    }

    /** The operation that defines a vhost (for the cluster's first start: the default vhost). */
    public static MetaOp vhostDefinition(String vhost) {
        return new MetaOp.Put(vhostKey(vhost), FieldTables.toBytes(Map.of("name", vhost)));
    }

    // ---------------------------------------------------------------- proposals

    CompletableFuture<MetaResult> submit(MetaOp... ops) {
        ReplicatedMetadata running = meta;
        if (running == null) {
            return CompletableFuture.failedFuture(new AmqpException(
                    dev.courier.protocol.AmqpConstants.INTERNAL_ERROR,
                    "the cluster's metadata group is not running yet"));
        }
        return running.submit(MetaBatch.of(ops));
    }

    /** Blocks until a proposal is applied here; for the management API's threads, never an event loop. */
    static <T> T await(CompletableFuture<T> future) {
        try {
            return future.get(COMMIT_TIMEOUT_MS, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException runtime) {
                throw runtime;
            }
            throw new IllegalStateException("the cluster did not commit the change: " + e.getCause(), e.getCause());
        } catch (TimeoutException e) {
            throw new IllegalStateException(
                    "the cluster did not commit the change within " + COMMIT_TIMEOUT_MS + " ms (no majority?)");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the cluster");
        }
    }

    static Throwable unwrap(Throwable failure) {
        return failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
    }

    /** Creates a vhost on every node; returns once it exists here. */
    void addVhost(String name) {
        MetaOp.Put definition = (MetaOp.Put) vhostDefinition(name);
        await(submit(new MetaOp.PutIfAbsent(definition.key(), definition.value())));
    }

    /** Deletes a vhost with its exchanges and bindings on every node; false when there was none here. */
    CompletableFuture<Boolean> deleteVhost(String name) {
        if (broker.vhost(name) == null) {
            return CompletableFuture.completedFuture(false);
        }
        return submit(
                        new MetaOp.Delete(vhostKey(name)),
                        new MetaOp.DeletePrefix(EXCHANGE + name + '\u0000'),
                        new MetaOp.DeletePrefix(BINDING + name + '\u0000'))
                .thenApply(result -> true);
    }

    // ---------------------------------------------------------------- applying (apply thread)

    /** Applies the group's changes to this node's vhosts, exchanges and bindings, in order. */
    public void changed(List<MetaChange> changes) {
        for (MetaChange change : changes) {
            try {
                apply(change.key(), change.value());
            } catch (RuntimeException e) {
                // one bad definition must not stop the others (or the group's apply thread)
                LOG.warn("cannot apply the cluster's change of '{}' here: {}", printable(change.key()), e.toString());
            }
        }
    }

    private void apply(String key, byte[] value) {
        if (key.startsWith(VHOST)) {
            String name = key.substring(VHOST.length());
            if (value != null) {
                broker.vhostCreated(name);
            } else {
                broker.vhostRemoved(name);
            }
        }
    }

    /**
     * The group's whole state after a snapshot restore: this node's vhosts, exchanges and bindings
     * become exactly those (the default vhost included: it is replicated like the others).
     */
    public void restored(SortedMap<String, byte[]> map) {
        List<String> vhosts = new ArrayList<>();
        map.forEach((key, value) -> {
            if (key.startsWith(VHOST)) {
                vhosts.add(key.substring(VHOST.length()));
            }
        });
        for (VirtualHost known : broker.vhosts()) {
            if (!vhosts.contains(known.name())) {
                broker.vhostRemoved(known.name());
            }
        }
        vhosts.forEach(broker::vhostCreated);
    }

    private static String printable(String key) {
        return key.replace('\u0000', '|');
    }
}
