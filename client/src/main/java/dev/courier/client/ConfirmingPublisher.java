package dev.courier.client;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.ConfirmListener;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.Recoverable;
import com.rabbitmq.client.Return;
import com.rabbitmq.client.ShutdownSignalException;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentNavigableMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes with publisher confirms and hands back a future per message that completes when the
 * broker has taken responsibility for it (for a persistent message on a durable queue: after it
 * is on disk).
 *
 * <p>The future completes with a {@link Confirmation} on {@code basic.ack}; it fails with {@link
 * PublishNackedException} on {@code basic.nack} (unless {@link Builder#retryNacked} is set: then
 * the message is published again after a backoff, up to {@code maxAttempts} times in all) and
 * with {@link UnroutableMessageException} when a mandatory message is returned. Every message gets a {@code message_id} (a UUID unless the
 * caller set one). When the connection is lost, the publisher reconnects through its {@link
 * ConnectionSupplier}, with backoff, and publishes every unconfirmed message again with the same
 * message id, so that a queue with {@code x-message-deduplication} drops the copies the broker
 * already had; a message that is still unconfirmed after {@code maxAttempts} connections fails
 * with {@link PublishNotConfirmedException}. Messages published while disconnected wait, in
 * order, for the next connection. Unconfirmed messages are held in memory.
 *
 * <p>The supplier must return connections without amqp-client's automatic recovery: recovery
 * would replay the channel behind the publisher's back and scramble the sequence numbers.
 *
 * <p>Thread-safe. Futures complete, and reconnects run, on the publisher's own thread ({@code
 * courier-publisher}); a dependent stage that blocks should use the {@code *Async} variants.
 */
public final class ConfirmingPublisher implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ConfirmingPublisher.class);

    /** Opens a new connection to the broker; called once at start and after every loss. */
    @FunctionalInterface
    public interface ConnectionSupplier {
        Connection get() throws IOException, TimeoutException;
    }

    /**
     * A confirmed message.
     *
     * @param attempts how many times it was published (more than 1 after a reconnect)
     */
    public record Confirmation(String messageId, int attempts) {}

    private final ConnectionSupplier connections;
    private final int maxAttempts;
    private final boolean mandatory;
    private final boolean retryNacked;
    private final Duration initialBackoff;
    private final Duration maxBackoff;
    private final ScheduledExecutorService executor;
    private final Object lock = new Object();

    // guarded by lock
    private Session current;
    private final ArrayDeque<Entry> backlog = new ArrayDeque<>();
    private boolean closed;
    private long reconnects;
    private long nacks;

    private ConfirmingPublisher(Builder builder) throws IOException, TimeoutException {
        this.connections = builder.connections;
        this.maxAttempts = builder.maxAttempts;
        this.mandatory = builder.mandatory;
        this.retryNacked = builder.retryNacked;
        this.initialBackoff = builder.initialBackoff;
        this.maxBackoff = builder.maxBackoff;
        this.executor = Executors.newSingleThreadScheduledExecutor(task -> {
            Thread thread = new Thread(task, "courier-publisher");
            thread.setDaemon(true);
            return thread;
        });
        try {
            Session first = open();
            synchronized (lock) {
                current = first;
            }
        } catch (IOException | TimeoutException | RuntimeException e) {
            executor.shutdownNow();
            throw e;
        }
    }

    /** A publisher that connects through {@code connections}; it connects before this returns. */
    public static Builder builder(ConnectionSupplier connections) {
        return new Builder(connections);
    }

    /**
     * Publishes a message; the future completes when the broker confirms it. {@code props} may be
     * null; a missing message id is filled in. Never blocks for a connection: while disconnected
     * the message waits for the next one.
     */
    public CompletableFuture<Confirmation> publish(
            String exchange, String routingKey, AMQP.BasicProperties props, byte[] body) {
        AMQP.BasicProperties base = props == null ? new AMQP.BasicProperties() : props;
        if (base.getMessageId() == null) {
            base = base.builder().messageId(UUID.randomUUID().toString()).build();
        }
        Entry entry = new Entry(exchange, routingKey, base, body);
        synchronized (lock) {
            if (closed) {
                entry.future.completeExceptionally(new IllegalStateException("publisher is closed"));
            } else if (current == null) {
                backlog.add(entry);
            } else {
                send(current, entry);
            }
        }
        return entry.future;
    }

    /** Messages published and not yet confirmed, nacked or returned. */
    public int unconfirmedCount() {
        synchronized (lock) {
            return backlog.size() + (current == null ? 0 : current.pending.size());
        }
    }

    /** How many publishes the broker has nacked (each retry of a message counts again). */
    public long nackCount() {
        synchronized (lock) {
            return nacks;
        }
    }

    /** How many times the publisher has reconnected. */
    public long reconnectCount() {
        synchronized (lock) {
            return reconnects;
        }
    }

    // lock held
    private void send(Session session, Entry entry) {
        long seqNo = session.channel.getNextPublishSeqNo();
        entry.attempts++;
        entry.returned = null;
        session.pending.put(seqNo, entry);
        try {
            session.channel.basicPublish(entry.exchange, entry.routingKey, mandatory, entry.props, entry.body);
        } catch (IOException | ShutdownSignalException e) {
            // the session is going down; its shutdown listener resends what is pending
            LOG.debug("publish of {} failed: {}", entry.props.getMessageId(), e.toString());
        }
    }

    private Session open() throws IOException, TimeoutException {
        Connection connection = connections.get();
        if (connection instanceof Recoverable) {
            connection.abort(1_000);
            throw new IllegalArgumentException("the connection supplier must disable automatic recovery"
                    + " (ConnectionFactory.setAutomaticRecoveryEnabled(false)); the publisher reconnects itself");
        }
        try {
            Channel channel = connection.createChannel();
            channel.confirmSelect();
            Session session = new Session(connection, channel);
            channel.addConfirmListener(session);
            channel.addReturnListener(session::onReturn);
            channel.addShutdownListener(cause -> onPublisherThread(() -> onSessionLost(session, cause)));
            return session;
        } catch (IOException | RuntimeException e) {
            connection.abort(1_000);
            throw e;
        }
    }

    // publisher thread
    private void onSessionLost(Session session, ShutdownSignalException cause) {
        List<Entry> failed = new ArrayList<>();
        synchronized (lock) {
            if (current != session) {
                return;
            }
            current = null;
            List<Entry> unconfirmed = new ArrayList<>(session.pending.values());
            session.pending.clear();
            for (int i = unconfirmed.size() - 1; i >= 0; i--) { // oldest first, before the backlog
                Entry entry = unconfirmed.get(i);
                if (closed || entry.attempts >= maxAttempts) {
                    failed.add(entry);
                } else {
                    backlog.addFirst(entry);
                }
            }
            if (closed) {
                failed.addAll(backlog);
                backlog.clear();
            }
        }
        for (Entry entry : failed) {
            entry.future.completeExceptionally(new PublishNotConfirmedException(
                    entry.props.getMessageId(),
                    "message " + entry.props.getMessageId() + " not confirmed after " + entry.attempts + " attempt(s): "
                            + cause.getMessage(),
                    cause));
        }
        session.connection.abort(1_000); // a channel-level close leaves the connection open
        if (!isClosed()) {
            LOG.warn("publisher lost its connection ({}); reconnecting", cause.getMessage());
            reconnect(0);
        }
    }

    // publisher thread
    private void reconnect(int attempt) {
        if (isClosed()) {
            return;
        }
        Session session;
        try {
            session = open();
        } catch (IOException | TimeoutException | RuntimeException e) {
            long delayMs = Math.min(maxBackoff.toMillis(), initialBackoff.toMillis() << Math.min(attempt, 20));
            LOG.debug("reconnect attempt {} failed ({}); next in {} ms", attempt + 1, e.toString(), delayMs);
            try {
                executor.schedule(() -> reconnect(attempt + 1), delayMs, TimeUnit.MILLISECONDS);
            } catch (RejectedExecutionException closing) {
                // closed meanwhile
            }
            return;
        }
        synchronized (lock) {
            if (closed) {
                session.connection.abort(1_000);
                return;
            }
            reconnects++;
            current = session;
            int resent = backlog.size();
            while (!backlog.isEmpty()) {
                send(session, backlog.poll());
            }
            LOG.info("publisher reconnected; published {} waiting message(s) again", resent);
        }
    }

    private boolean isClosed() {
        synchronized (lock) {
            return closed;
        }
    }

    /**
     * Closes the connection. Messages not confirmed yet fail with {@link
     * PublishNotConfirmedException}; wait for their futures first to avoid that.
     */
    @Override
    public void close() {
        List<Entry> failed = new ArrayList<>();
        Session session;
        synchronized (lock) {
            if (closed) {
                return;
            }
            closed = true;
            session = current;
            current = null;
            if (session != null) {
                failed.addAll(session.pending.values());
                session.pending.clear();
            }
            failed.addAll(backlog);
            backlog.clear();
        }
        if (session != null) {
            try {
                session.connection.close(5_000);
            } catch (IOException | ShutdownSignalException e) {
                session.connection.abort(1_000);
            }
        }
        for (Entry entry : failed) {
            entry.future.completeExceptionally(new PublishNotConfirmedException(
                    entry.props.getMessageId(), "publisher closed before message was confirmed", null));
        }
        executor.shutdownNow();
    }

    // publisher thread
    private void onNacked(Entry entry) {
        synchronized (lock) {
            nacks++;
        }
        int attempts = attempts(entry);
        if (!retryNacked || attempts >= maxAttempts || isClosed()) {
            entry.future.completeExceptionally(new PublishNackedException(entry.props.getMessageId()));
            return;
        }
        long delayMs = Math.min(maxBackoff.toMillis(), initialBackoff.toMillis() << Math.min(attempts - 1, 20));
        LOG.debug("message {} nacked; publishing it again in {} ms", entry.props.getMessageId(), delayMs);
        executor.schedule(
                () -> {
                    synchronized (lock) {
                        if (closed) {
                            entry.future.completeExceptionally(new PublishNackedException(entry.props.getMessageId()));
                        } else if (current == null) {
                            backlog.add(entry);
                        } else {
                            send(current, entry);
                        }
                    }
                },
                delayMs,
                TimeUnit.MILLISECONDS);
    }

    /** One message on its way: published, maybe several times, until confirmed or failed. */
    private static final class Entry {
        final String exchange;
        final String routingKey;
        final AMQP.BasicProperties props;
        final byte[] body;
        final CompletableFuture<Confirmation> future = new CompletableFuture<>();
        int attempts; // guarded by the publisher's lock
        volatile Return returned;

        Entry(String exchange, String routingKey, AMQP.BasicProperties props, byte[] body) {
            this.exchange = Objects.requireNonNull(exchange, "exchange");
            this.routingKey = Objects.requireNonNull(routingKey, "routingKey");
            this.props = props;
            this.body = Objects.requireNonNull(body, "body");
        }
    }

    /** One connection and its confirm channel; listeners run on the connection's threads. */
    private final class Session implements ConfirmListener {
        final Connection connection;
        final Channel channel;
        final ConcurrentNavigableMap<Long, Entry> pending = new ConcurrentSkipListMap<>();

        Session(Connection connection, Channel channel) {
            this.connection = connection;
            this.channel = channel;
        }

        @Override
        public void handleAck(long seqNo, boolean multiple) {
            for (Entry entry : settled(seqNo, multiple)) {
                Return returned = entry.returned;
                onPublisherThread(() -> {
                    if (returned != null) {
                        entry.future.completeExceptionally(new UnroutableMessageException(
                                returned.getReplyCode(),
                                returned.getReplyText(),
                                returned.getExchange(),
                                returned.getRoutingKey()));
                    } else {
                        entry.future.complete(new Confirmation(entry.props.getMessageId(), attempts(entry)));
                    }
                });
            }
        }

        @Override
        public void handleNack(long seqNo, boolean multiple) {
            for (Entry entry : settled(seqNo, multiple)) {
                onPublisherThread(() -> onNacked(entry));
            }
        }

        // 0-9-1 confirms: multiple=true settles every sequence number up to and including seqNo
        private List<Entry> settled(long seqNo, boolean multiple) {
            List<Entry> entries = new ArrayList<>();
            if (multiple) {
                Map<Long, Entry> head = pending.headMap(seqNo, true);
                entries.addAll(head.values());
                head.clear();
            } else {
                Entry entry = pending.remove(seqNo);
                if (entry != null) {
                    entries.add(entry);
                }
            }
            return entries;
        }

        // the broker sends basic.return before the basic.ack of the same message
        void onReturn(Return returned) {
            String messageId = returned.getProperties().getMessageId();
            for (Entry entry : pending.values()) {
                if (entry.returned == null && Objects.equals(entry.props.getMessageId(), messageId)) {
                    entry.returned = returned;
                    return;
                }
            }
        }
    }

    private void onPublisherThread(Runnable task) {
        try {
            executor.execute(task);
        } catch (RejectedExecutionException e) {
            // closed: close() has failed every message that was still waiting
        }
    }

    private int attempts(Entry entry) {
        synchronized (lock) {
            return entry.attempts;
        }
    }

    /** Options for a {@link ConfirmingPublisher}. */
    public static final class Builder {
        private final ConnectionSupplier connections;
        private int maxAttempts = 5;
        private boolean mandatory = true;
        private boolean retryNacked;
        private Duration initialBackoff = Duration.ofMillis(100);
        private Duration maxBackoff = Duration.ofSeconds(5);

        private Builder(ConnectionSupplier connections) {
            this.connections = Objects.requireNonNull(connections, "connections");
        }

        /** How many connections a message may be published on before it fails; default 5. */
        public Builder maxAttempts(int value) {
            if (value < 1) {
                throw new IllegalArgumentException("maxAttempts must be >= 1: " + value);
            }
            this.maxAttempts = value;
            return this;
        }

        /**
         * Whether messages are published mandatory, so that an unroutable one fails with {@link
         * UnroutableMessageException}; default true.
         */
        public Builder mandatory(boolean value) {
            this.mandatory = value;
            return this;
        }

        /**
         * Whether a nacked message is published again (same message id) after a backoff instead of
         * failing, until {@code maxAttempts}; default false. A nack means the broker could not take
         * the message at that moment (e.g. a cluster node could not reach the queue's node); a queue
         * that refuses it for good (full, with reject-publish) nacks every attempt.
         */
        public Builder retryNacked(boolean value) {
            this.retryNacked = value;
            return this;
        }

        /**
         * Delay before the second reconnect attempt (and, with {@link #retryNacked}, before
         * publishing a nacked message again), doubling up to {@code max}; default 100 ms to 5 s.
         */
        public Builder reconnectBackoff(Duration initial, Duration max) {
            this.initialBackoff = Objects.requireNonNull(initial);
            this.maxBackoff = Objects.requireNonNull(max);
            return this;
        }

        /** Connects and returns the publisher. */
        public ConfirmingPublisher start() throws IOException, TimeoutException {
            return new ConfirmingPublisher(this);
        }
    }
}
