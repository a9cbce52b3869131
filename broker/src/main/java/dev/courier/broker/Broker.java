package dev.courier.broker;

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
    private final ConcurrentHashMap<String, VirtualHost> vhosts = new ConcurrentHashMap<>();

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
        QueueRuntime runtime = new QueueRuntime(queueExecutor, timer, config.clockMs(), config.memoryWindowMessages());
        DurableState durable = store == null ? null : new DurableState(store);
        VirtualHost root = new VirtualHost("/", runtime, durable);
        vhosts.put("/", root);
        if (durable != null) {
            durable.recover(root);
        }
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
