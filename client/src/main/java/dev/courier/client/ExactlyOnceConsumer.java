package dev.courier.client;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.DefaultConsumer;
import com.rabbitmq.client.Delivery;
import com.rabbitmq.client.Envelope;
import com.rabbitmq.client.ShutdownSignalException;
import java.io.IOException;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A consumer whose side effects happen exactly once per message id, given at-least-once delivery.
 *
 * <p>For each delivery it opens a JDBC connection from the application's {@link DataSource},
 * inserts the message id into a processed-ids table, runs the {@link TransactionalHandler} on the
 * same connection, commits, and only then acks. If the id is already in the table, an earlier
 * delivery of the same message committed (and its ack was lost: a crash, a dropped connection),
 * so the delivery is acked and skipped without calling the handler. If the handler throws, the
 * transaction is rolled back and the message is settled by the {@link FailurePolicy}. Because the
 * id row is inserted first, two consumers that get the same message at once serialise on the
 * table's primary key and only one runs the handler. When the database itself fails (no
 * connection, a failed insert or commit) the message is requeued whatever the failure policy
 * says, since it is not the message's fault; the broker redelivers it at once, so a long outage
 * means a busy retry loop (stop the consumer, or give the data source a connection timeout).
 *
 * <p>The processed-ids table ({@code courier_processed_messages} by default; columns {@code
 * consumer}, {@code message_id}, {@code processed_at}) is created if absent. It grows by one row
 * per message: delete old rows with {@link #deleteProcessedBefore} once no redelivery that old can
 * arrive.
 *
 * <p>Threading: deliveries are processed one at a time on the amqp-client dispatch thread of this
 * consumer's channel, so the handler may block. For parallelism start several consumers (each has
 * its own channel); they may share the table.
 */
public final class ExactlyOnceConsumer implements AutoCloseable {
    /** The default processed-ids table. */
    public static final String DEFAULT_TABLE = "courier_processed_messages";

    private static final Logger LOG = LoggerFactory.getLogger(ExactlyOnceConsumer.class);

    /**
     * The application's processing of one message, inside its JDBC transaction. Use {@code
     * transaction} for every write that must happen exactly once; do not commit, roll back or close
     * it. Throwing rolls the transaction back.
     */
    @FunctionalInterface
    public interface TransactionalHandler {
        void handle(java.sql.Connection transaction, Delivery delivery) throws Exception;
    }

    /** Observes outcomes (metrics, tests). Called on the dispatch thread; must not block for long. */
    public interface Listener {
        /** The transaction with this message's side effects committed; the ack comes next. */
        default void onCommitted(String messageId, Delivery delivery) {}

        /** The message id was processed before; the delivery is acked without running the handler. */
        default void onDuplicate(String messageId, Delivery delivery) {}

        /** Processing failed and was rolled back; the message is settled by the failure policy. */
        default void onFailed(String messageId, Delivery delivery, Exception cause) {}

        /** The delivery had no id and was rejected. */
        default void onRejectedWithoutId(Delivery delivery) {}
    }

    private final DataSource dataSource;
    private final TransactionalHandler handler;
    private final JdbcProcessedIds processedIds;
    private final String consumerName;
    private final MessageIdStrategy ids;
    private final FailurePolicy onFailure;
    private final Listener listener;
    private final Clock clock;
    private final Channel channel;
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final String consumerTag;

    private ExactlyOnceConsumer(Builder builder, Connection connection, String queue) throws IOException, SQLException {
        this.dataSource = builder.dataSource;
        this.handler = builder.handler;
        this.processedIds = new JdbcProcessedIds(builder.table);
        this.consumerName = builder.consumerName != null ? builder.consumerName : queue;
        this.ids = builder.ids;
        this.onFailure = builder.onFailure;
        this.listener = builder.listener;
        this.clock = builder.clock;
        processedIds.createIfAbsent(dataSource);
        this.channel = connection.createChannel();
        try {
            channel.basicQos(builder.prefetch);
            this.consumerTag = channel.basicConsume(queue, false, new DefaultConsumer(channel) {
                @Override
                public void handleDelivery(
                        String tag, Envelope envelope, AMQP.BasicProperties properties, byte[] body) {
                    onDelivery(new Delivery(envelope, properties, body));
                }

                @Override
                public void handleCancelOk(String tag) {
                    stopped.countDown();
                }

                @Override
                public void handleCancel(String tag) {
                    LOG.warn("the broker cancelled exactly-once consumer {} on queue {}", consumerName, queue);
                    stopped.countDown();
                }

                @Override
                public void handleShutdownSignal(String tag, ShutdownSignalException signal) {
                    stopped.countDown();
                }
            });
        } catch (IOException | RuntimeException e) {
            closeQuietly();
            throw e;
        }
    }

    /** A consumer that runs {@code handler} in transactions on connections from {@code dataSource}. */
    public static Builder builder(DataSource dataSource, TransactionalHandler handler) {
        return new Builder(dataSource, handler);
    }

    /** The name under which this consumer records ids (the queue name unless configured). */
    public String consumerName() {
        return consumerName;
    }

    /** Whether {@code messageId} has been processed by consumers of this name. */
    public boolean isProcessed(String messageId) throws SQLException {
        try (java.sql.Connection db = dataSource.getConnection()) {
            return processedIds.contains(db, consumerName, messageId);
        }
    }

    /**
     * Forgets ids processed before {@code cutoff}; a redelivery of such a message would be
     * processed again, so keep ids longer than any message can wait for redelivery.
     */
    public int deleteProcessedBefore(Instant cutoff) throws SQLException {
        try (java.sql.Connection db = dataSource.getConnection()) {
            boolean autoCommit = db.getAutoCommit();
            int deleted = processedIds.deleteBefore(db, consumerName, cutoff);
            if (!autoCommit) {
                db.commit();
            }
            return deleted;
        }
    }

    private void onDelivery(Delivery delivery) {
        long tag = delivery.getEnvelope().getDeliveryTag();
        String messageId = ids.idOf(delivery);
        if (!channel.isOpen()) {
            // prefetched before the channel died: the broker has requeued it, and it could not be
            // acked anyway
            LOG.debug("channel closed; leaving message {} to its redelivery", messageId);
            return;
        }
        try {
            if (messageId == null) {
                LOG.warn(
                        "rejecting a message without an id on {} (routing key {})",
                        consumerName,
                        delivery.getEnvelope().getRoutingKey());
                listener.onRejectedWithoutId(delivery);
                channel.basicReject(tag, false);
                return;
            }
            Outcome outcome = process(messageId, delivery);
            switch (outcome) {
                case COMMITTED -> {
                    listener.onCommitted(messageId, delivery);
                    channel.basicAck(tag, false);
                }
                case DUPLICATE -> {
                    LOG.debug("message {} was processed before; acking the redelivery", messageId);
                    listener.onDuplicate(messageId, delivery);
                    channel.basicAck(tag, false);
                }
                case FAILED -> onFailure.settle(channel, tag);
                case DATABASE_UNAVAILABLE -> channel.basicNack(tag, false, true);
            }
        } catch (IOException | ShutdownSignalException e) {
            // the channel is gone: the broker requeues the delivery, and the processed-ids table
            // makes its redelivery a no-op if the transaction committed
            LOG.warn("could not settle message {} on {}: {}", messageId, consumerName, e.toString());
        }
    }

    private enum Outcome {
        COMMITTED,
        DUPLICATE,
        FAILED,
        DATABASE_UNAVAILABLE
    }

    private Outcome process(String messageId, Delivery delivery) {
        java.sql.Connection db = null;
        boolean restoreAutoCommit = false;
        try {
            try {
                db = dataSource.getConnection();
                if (db.getAutoCommit()) {
                    db.setAutoCommit(false);
                    restoreAutoCommit = true;
                }
                if (!processedIds.tryInsert(db, consumerName, messageId, clock.instant())) {
                    return Outcome.DUPLICATE;
                }
            } catch (SQLException e) {
                return databaseFailed(db, messageId, delivery, e);
            }
            try {
                handler.handle(db, delivery);
            } catch (Exception e) {
                rollbackQuietly(db, e);
                LOG.warn("processing message {} on {} failed; rolled back, {}", messageId, consumerName, onFailure, e);
                listener.onFailed(messageId, delivery, e);
                return Outcome.FAILED;
            }
            try {
                db.commit();
                return Outcome.COMMITTED;
            } catch (SQLException e) {
                // if it did commit after all, the redelivery finds the id and is skipped
                return databaseFailed(db, messageId, delivery, e);
            }
        } finally {
            release(db, restoreAutoCommit);
        }
    }

    /** The database, not the handler, failed: requeue, whatever the failure policy says. */
    private Outcome databaseFailed(java.sql.Connection db, String messageId, Delivery delivery, SQLException e) {
        if (db != null) {
            rollbackQuietly(db, e);
        }
        LOG.warn("database error on message {} of {}; requeueing it", messageId, consumerName, e);
        listener.onFailed(messageId, delivery, e);
        return Outcome.DATABASE_UNAVAILABLE;
    }

    private static void release(java.sql.Connection db, boolean restoreAutoCommit) {
        if (db == null) {
            return;
        }
        try {
            if (restoreAutoCommit) {
                db.setAutoCommit(true); // hand a pooled connection back as it came
            }
        } catch (SQLException e) {
            LOG.debug("resetting auto-commit failed: {}", e.toString());
        }
        try {
            db.close();
        } catch (SQLException e) {
            LOG.debug("closing a database connection failed: {}", e.toString());
        }
    }

    private static void rollbackQuietly(java.sql.Connection db, Exception cause) {
        try {
            db.rollback();
        } catch (SQLException e) {
            cause.addSuppressed(e);
        }
    }

    /**
     * Stops consuming: cancels the consumer, lets the deliveries already received finish (up to
     * {@code timeout}), then closes the channel; unprocessed prefetched messages go back to the
     * queue. Returns true when every received delivery finished in time (false also when interrupted). Do
     * not call from a handler.
     */
    public boolean close(Duration timeout) {
        boolean drained = false;
        try {
            if (channel.isOpen()) {
                channel.basicCancel(consumerTag);
            }
            drained = stopped.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException | ShutdownSignalException e) {
            LOG.debug("cancel of {} failed: {}", consumerName, e.toString());
        } finally {
            closeQuietly();
        }
        return drained;
    }

    /** {@link #close(Duration)} with a 30 s timeout. */
    @Override
    public void close() {
        close(Duration.ofSeconds(30));
    }

    private void closeQuietly() {
        try {
            if (channel.isOpen()) {
                channel.close();
            }
        } catch (IOException | TimeoutException | ShutdownSignalException e) {
            LOG.debug("closing the channel of {} failed: {}", consumerName, e.toString());
        }
    }

    /** Options for an {@link ExactlyOnceConsumer}. */
    public static final class Builder {
        private final DataSource dataSource;
        private final TransactionalHandler handler;
        private String table = DEFAULT_TABLE;
        private String consumerName;
        private MessageIdStrategy ids = MessageIdStrategy.messageId();
        private FailurePolicy onFailure = FailurePolicy.REQUEUE;
        private int prefetch = 10;
        private Listener listener = new Listener() {};
        private Clock clock = Clock.systemUTC();

        private Builder(DataSource dataSource, TransactionalHandler handler) {
            this.dataSource = Objects.requireNonNull(dataSource, "dataSource");
            this.handler = Objects.requireNonNull(handler, "handler");
        }

        /** The processed-ids table (a plain, optionally schema-qualified, name); created if absent. */
        public Builder table(String value) {
            this.table = Objects.requireNonNull(value);
            return this;
        }

        /**
         * The name ids are recorded under; default the queue name. Consumers of one logical stream
         * (several instances of the same service) must share it; different services must not.
         */
        public Builder consumerName(String value) {
            this.consumerName = Objects.requireNonNull(value);
            return this;
        }

        /** Where a delivery's id comes from; default the {@code message_id} property. */
        public Builder messageIds(MessageIdStrategy value) {
            this.ids = Objects.requireNonNull(value);
            return this;
        }

        /** What happens to a message whose handler threw; default requeue. */
        public Builder onFailure(FailurePolicy value) {
            this.onFailure = Objects.requireNonNull(value);
            return this;
        }

        /** Unacked deliveries the broker may send ahead (basic.qos); default 10. */
        public Builder prefetch(int value) {
            if (value < 0 || value > 65_535) {
                throw new IllegalArgumentException("prefetch must be 0..65535: " + value);
            }
            this.prefetch = value;
            return this;
        }

        public Builder listener(Listener value) {
            this.listener = Objects.requireNonNull(value);
            return this;
        }

        /** The clock stamped into {@code processed_at}; default UTC system time. */
        public Builder clock(Clock value) {
            this.clock = Objects.requireNonNull(value);
            return this;
        }

        /** Creates the table if absent, opens a channel on {@code connection} and consumes {@code queue}. */
        public ExactlyOnceConsumer start(Connection connection, String queue) throws IOException, SQLException {
            return new ExactlyOnceConsumer(this, connection, queue);
        }
    }
}
