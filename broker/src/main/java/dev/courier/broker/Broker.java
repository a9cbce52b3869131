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

    /** A broker without persistence: durable queues are recorded as durable but not stored. */
    public Broker(BrokerConfig config) {
        this(config, null);
    }

    /**
     * A broker whose durable exchanges, queues, bindings and persistent messages live in {@code
     * store}; what the store recovered is rebuilt before this constructor returns.
     */
    public Broker(BrokerConfig config, MessageStore store) {
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
        this.durable = store == null ? null : new DurableState(store);
        vhosts.put(DEFAULT_VHOST, new VirtualHost(DEFAULT_VHOST, runtime, durable));
        if (durable != null) {
            durable.recover(name -> vhosts.computeIfAbsent(name, n -> new VirtualHost(n, runtime, durable)));
        }
    }

    /**
     * Creates a virtual host (durable when the broker has a store), or returns the existing one.
     *
     * @throws IllegalArgumentException for an empty name or one longer than 255 bytes
     */
    public VirtualHost addVhost(String name) {
        if (name == null || name.isEmpty() || name.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > 255) {
            throw new IllegalArgumentException("a vhost name must be 1..255 bytes");
        }
        synchronized (vhosts) {
            VirtualHost existing = vhosts.get(name);
            if (existing != null) {
                return existing;
            }
            VirtualHost created = new VirtualHost(name, runtime, durable);
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
        VirtualHost removed;
        synchronized (vhosts) {
            removed = vhosts.remove(name);
        }
        if (removed == null) {
            return CompletableFuture.completedFuture(false);
        }
        return removed.destroy().thenApply(ignored -> true);
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
