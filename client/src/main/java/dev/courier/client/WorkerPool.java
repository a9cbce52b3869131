package dev.courier.client;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.DefaultConsumer;
import com.rabbitmq.client.Delivery;
import com.rabbitmq.client.Envelope;
import com.rabbitmq.client.ShutdownSignalException;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Competing consumers: N workers on one queue, each with its own channel, prefetch and thread.
 * A delivery is acked after the {@link DeliveryHandler} returns; when it throws, the delivery is
 * requeued or dead-lettered as the {@link FailurePolicy} says. The broker spreads messages over
 * the workers, and never gives a worker more than {@code prefetch} unacked messages.
 *
 * <p>{@link #close(Duration)} drains: it cancels every consumer, lets each worker finish what it
 * has already received, and only then closes the channels, so a shutdown neither loses nor
 * needlessly redelivers messages. Whatever is still unfinished at the deadline goes back to the
 * queue when the channels close.
 *
 * <p>The handler runs on the worker's own thread ({@code courier-worker-<queue>-<n>}), one
 * delivery at a time per worker, so it may block; it must be safe to call from N threads at once.
 */
public final class WorkerPool implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(WorkerPool.class);

    private final String queue;
    private final DeliveryHandler handler;
    private final FailurePolicy onFailure;
    private final List<Worker> workers = new ArrayList<>();

    private WorkerPool(Builder builder) throws IOException {
        this.queue = builder.queue;
        this.handler = builder.handler;
        this.onFailure = builder.onFailure;
        try {
            for (int i = 0; i < builder.workers; i++) {
                workers.add(new Worker(builder.connection, i, builder.prefetch));
            }
        } catch (IOException | RuntimeException e) {
            close(Duration.ZERO);
            throw e;
        }
    }

    /** A pool on {@code queue} of {@code connection}; one worker, prefetch 1, failures requeued. */
    public static Builder builder(Connection connection, String queue, DeliveryHandler handler) {
        return new Builder(connection, queue, handler);
    }

    /** Number of workers. */
    public int size() {
        return workers.size();
    }

    /**
     * Stops consuming and waits up to {@code timeout} for the workers to finish the deliveries
     * they have received; then closes the channels. Returns true when every worker drained in time.
     * Do not call from a handler.
     */
    public boolean close(Duration timeout) {
        long deadlineNs = System.nanoTime() + timeout.toNanos();
        for (Worker worker : workers) {
            worker.cancel();
        }
        boolean drained = true;
        try {
            for (Worker worker : workers) {
                drained &= worker.awaitDrained(deadlineNs);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            drained = false;
        }
        for (Worker worker : workers) {
            worker.closeChannel();
        }
        if (!drained) {
            LOG.warn(
                    "worker pool on {} did not drain within {}; unfinished messages return to the queue",
                    queue,
                    timeout);
        }
        return drained;
    }

    /** {@link #close(Duration)} with a 30 s timeout. */
    @Override
    public void close() {
        close(Duration.ofSeconds(30));
    }

    private final class Worker {
        private final Channel channel;
        private final ExecutorService thread;
        private final CountDownLatch cancelled = new CountDownLatch(1);
        private final String consumerTag;

        Worker(Connection connection, int index, int prefetch) throws IOException {
            String name = "courier-worker-" + queue + "-" + index;
            this.thread = Executors.newSingleThreadExecutor(task -> new Thread(task, name));
            this.channel = connection.createChannel();
            try {
                channel.basicQos(prefetch);
                this.consumerTag = channel.basicConsume(queue, false, new DefaultConsumer(channel) {
                    @Override
                    public void handleDelivery(
                            String tag, Envelope envelope, AMQP.BasicProperties properties, byte[] body) {
                        Delivery delivery = new Delivery(envelope, properties, body);
                        try {
                            thread.execute(() -> process(delivery));
                        } catch (RejectedExecutionException e) {
                            // closing past its deadline: the channel close returns it to the queue
                            LOG.debug(
                                    "worker {} stopped; leaving delivery {} unacked", name, envelope.getDeliveryTag());
                        }
                    }

                    // amqp-client dispatches cancel-ok after every delivery that preceded it, so
                    // once it is here the worker's executor holds everything it will ever get
                    @Override
                    public void handleCancelOk(String tag) {
                        cancelled.countDown();
                    }

                    @Override
                    public void handleCancel(String tag) {
                        LOG.warn("the broker cancelled worker {} (queue deleted?)", name);
                        cancelled.countDown();
                    }

                    @Override
                    public void handleShutdownSignal(String tag, ShutdownSignalException signal) {
                        cancelled.countDown();
                    }
                });
            } catch (IOException | RuntimeException e) {
                thread.shutdownNow();
                closeChannel();
                throw e;
            }
        }

        private void process(Delivery delivery) {
            long tag = delivery.getEnvelope().getDeliveryTag();
            if (!channel.isOpen()) {
                // received before the channel died: the broker has requeued it already
                return;
            }
            try {
                try {
                    handler.handle(delivery);
                } catch (Exception e) {
                    LOG.warn(
                            "handler failed on {} for message {}; {}",
                            queue,
                            delivery.getProperties().getMessageId(),
                            onFailure,
                            e);
                    onFailure.settle(channel, tag);
                    return;
                } catch (Error e) {
                    onFailure.settle(channel, tag); // not left unacked until the channel closes
                    throw e;
                }
                channel.basicAck(tag, false);
            } catch (IOException | ShutdownSignalException e) {
                LOG.warn("could not settle a delivery on {}; the broker will redeliver it: {}", queue, e.toString());
            }
        }

        void cancel() {
            try {
                if (consumerTag != null && channel.isOpen()) {
                    channel.basicCancel(consumerTag);
                } else {
                    cancelled.countDown();
                }
            } catch (IOException | ShutdownSignalException e) {
                cancelled.countDown();
            }
        }

        boolean awaitDrained(long deadlineNs) throws InterruptedException {
            boolean quiet = cancelled.await(Math.max(0, deadlineNs - System.nanoTime()), TimeUnit.NANOSECONDS);
            thread.shutdown();
            return quiet && thread.awaitTermination(Math.max(0, deadlineNs - System.nanoTime()), TimeUnit.NANOSECONDS);
        }

        void closeChannel() {
            thread.shutdownNow();
            try {
                if (channel.isOpen()) {
                    channel.close();
                }
            } catch (IOException | TimeoutException | ShutdownSignalException e) {
                LOG.debug("closing a worker channel failed: {}", e.toString());
            }
        }
    }

    /** Options for a {@link WorkerPool}. */
    public static final class Builder {
        private final Connection connection;
        private final String queue;
        private final DeliveryHandler handler;
        private int workers = 1;
        private int prefetch = 1;
        private FailurePolicy onFailure = FailurePolicy.REQUEUE;

        private Builder(Connection connection, String queue, DeliveryHandler handler) {
            this.connection = Objects.requireNonNull(connection, "connection");
            this.queue = Objects.requireNonNull(queue, "queue");
            this.handler = Objects.requireNonNull(handler, "handler");
        }

        /** Number of workers (channels and threads); default 1. */
        public Builder workers(int value) {
            if (value < 1) {
                throw new IllegalArgumentException("workers must be >= 1: " + value);
            }
            this.workers = value;
            return this;
        }

        /** Unacked messages the broker may send each worker ahead (basic.qos); default 1. */
        public Builder prefetch(int value) {
            if (value < 0 || value > 65_535) {
                throw new IllegalArgumentException("prefetch must be 0..65535: " + value);
            }
            this.prefetch = value;
            return this;
        }

        /** What happens to a delivery whose handler threw; default requeue. */
        public Builder onFailure(FailurePolicy value) {
            this.onFailure = Objects.requireNonNull(value);
            return this;
        }

        /** Opens the workers' channels and starts consuming. */
        public WorkerPool start() throws IOException {
            return new WorkerPool(this);
        }
    }
}
