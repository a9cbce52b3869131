package dev.courier.broker;

import dev.courier.store.BlobStore;
import dev.courier.store.MessageStore;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The broker domain: virtual hosts and the executor their queue actors run on. Thread-safe.
 */
public final class Broker implements AutoCloseable {
    private final ExecutorService queueExecutor;
    private final ScheduledExecutorService timer;
    private static final String DEFAULT_VHOST = "/";

    private final ConcurrentHashMap<String, VirtualHost> vhosts = new ConcurrentHashMap<>();
    private final QueueRuntime runtime;
    private final DurableState durable;
    private final QuorumDirectory quorum;
    /** Non-null in a cluster: vhosts, exchanges and bindings then live in the metadata group. */
    private final ReplicatedDefinitions definitions;
    /** The queue limit given to vhosts created from now on (0 = none). */
    private volatile int maxQueuesPerVhost;

    /** A broker without persistence: durable queues are recorded as durable but not stored. */
    public Broker(BrokerConfig config) {
        this(config, null);
    }

    /**
     * A broker whose durable exchanges, queues, bindings and persistent messages live in {@code
     * store}; what the store recovered is rebuilt before this constructor returns.
     */
    public Broker(BrokerConfig config, MessageStore store) {
        this(config, store, false);
    }

    /**
     * As {@link #Broker(BrokerConfig, MessageStore)}; with {@code clustered} the vhosts, exchanges
     * and bindings are the cluster's ({@link #definitions()} must then be given the metadata group
     * and hear its changes): the store keeps only queues and messages.
     */
    public Broker(BrokerConfig config, MessageStore store, boolean clustered) {
        AtomicInteger threads = new AtomicInteger();
        ThreadFactory factory = runnable -> {
            Thread thread = new Thread(runnable, "courier-queue-" + threads.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        };
        this.queueExecutor = Executors.newFixedThreadPool(config.queueThreads(), factory);
        this.timer = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, "courier-queue-timer");
            thread.setDaemon(true);
            return thread;
        });
        this.quorum = new QuorumDirectory(vhosts::get);
        QueueRuntime runtime =
                new QueueRuntime(queueExecutor, timer, config.clockMs(), config.memoryWindowMessages(), quorum);
        this.runtime = runtime;
        this.durable = store == null ? null : new DurableState(store, clustered);
        this.definitions = clustered ? new ReplicatedDefinitions(this) : null;
        vhosts.put(DEFAULT_VHOST, new VirtualHost(DEFAULT_VHOST, runtime, durable, definitions));
        if (durable != null) {
            durable.recover(
                    name -> vhosts.computeIfAbsent(name, n -> new VirtualHost(n, runtime, durable, definitions)));
        }
    }

    /**
     * Creates a virtual host (durable when the broker has a store), or returns the existing one. In
     * a cluster it is created on every node and this call blocks until the metadata group applied
     * it here (not for event-loop threads).
     *
     * @throws IllegalArgumentException for an empty name or one longer than 255 bytes
     * @throws IllegalStateException in a cluster, when no majority commits the change in time
     */
    public VirtualHost addVhost(String name) {
        if (name == null || name.isEmpty() || name.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > 255) {
            throw new IllegalArgumentException("a vhost name must be 1..255 bytes");
        }
        if (definitions != null) {
            VirtualHost known = vhosts.get(name);
            if (known != null) {
                return known;
            }
            definitions.addVhost(name);
            VirtualHost created = vhosts.get(name);
            if (created == null) {
                throw new IllegalStateException("vhost '" + name + "' was deleted again meanwhile");
            }
            return created;
        }
        synchronized (vhosts) {
            VirtualHost existing = vhosts.get(name);
            if (existing != null) {
                return existing;
            }
            VirtualHost created = new VirtualHost(name, runtime, durable, definitions);
            vhosts.put(name, created);
            if (durable != null) {
                durable.recordVhost(name);
            }
            return created;
        }
    }

    /**
     * Deletes a virtual host with everything in it; completes with false when there was none.
     * Connections to it are the server's to close.
     */
    public CompletableFuture<Boolean> deleteVhost(String name) {
        if (definitions != null) {
            return definitions.deleteVhost(name);
        }
        VirtualHost removed;
        synchronized (vhosts) {
            removed = vhosts.remove(name);
        }
        if (removed == null) {
            return CompletableFuture.completedFuture(false);
        }
        return removed.destroy().thenApply(ignored -> true);
    }

    /** In a cluster: a vhost the metadata group created (apply thread); idempotent. */
    VirtualHost vhostCreated(String name) {
        VirtualHost created;
        synchronized (vhosts) {
            created = vhosts.get(name);
            if (created != null) {
                return created;
            }
            created = new VirtualHost(name, runtime, durable, definitions);
            created.maxQueues(maxQueuesPerVhost);
            vhosts.put(name, created);
        }
        quorum.vhostAdded(name);
        return created;
    }

    /** In a cluster: a vhost the metadata group deleted (apply thread): everything in it goes here. */
    void vhostRemoved(String name) {
        VirtualHost removed;
        synchronized (vhosts) {
            removed = vhosts.remove(name);
        }
        if (removed != null) {
            removed.destroy();
        }
    }

    /** The queue limit (RabbitMQ's max-queues, 0 = none) of every vhost, also those created later. */
    public void maxQueuesPerVhost(int limit) {
        maxQueuesPerVhost = limit;
        vhosts.values().forEach(vhost -> vhost.maxQueues(limit));
    }

    /** In a cluster, the broker's side of the metadata group; null on a single node. */
    public ReplicatedDefinitions definitions() {
        return definitions;
    }

    /** Whether this broker is part of a cluster (its definitions are replicated). */
    public boolean clustered() {
        return definitions != null;
    }

    /**
     * The quorum queues of this node: give it the running cluster ({@link QuorumDirectory#attach})
     * to accept x-queue-type=quorum; it is the cluster's listener.
     */
    public QuorumDirectory quorumQueues() {
        return quorum;
    }

    /** The store's blob area for large message bodies, or null for a broker without a store. */
    public BlobStore blobs() {
        return durable == null ? null : durable.store().blobs();
    }

    /** The virtual host with this name, or null. */
    public VirtualHost vhost(String name) {
        return vhosts.get(name);
    }

    public Collection<VirtualHost> vhosts() {
        return List.copyOf(vhosts.values());
    }

    /** Releases every queued message and stops the queue threads. */
    @Override
    public void close() {
        if (durable != null) {
            // before the queues drop their messages: the blobs of stored ones must stay on disk
            durable.store().blobs().close();
        }
        List<CompletableFuture<Integer>> drained = new ArrayList<>();
        for (VirtualHost vhost : vhosts.values()) {
            for (MessageQueue queue : vhost.queues()) {
                drained.add(queue.shutdown());
            }
        }
        try {
            // let every queue release its messages before the threads stop
            CompletableFuture.allOf(drained.toArray(new CompletableFuture<?>[0]))
                    .get(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            // shutting down anyway; the messages go with the heap
        }
        timer.shutdownNow();
        queueExecutor.shutdown();
        try {
            if (!queueExecutor.awaitTermination(5, TimeUnit.SECONDS)) {
                queueExecutor.shutdownNow();
            }
        } catch (InterruptedException e) {
            queueExecutor.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }
}
