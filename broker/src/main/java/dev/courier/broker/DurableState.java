package dev.courier.broker;

import dev.courier.protocol.FieldTables;
import dev.courier.store.Blob;
import dev.courier.store.MessageStore;
import dev.courier.store.RecoveredQueue;
import dev.courier.store.RecoveredState;
import dev.courier.store.StoreQueue;
import dev.courier.store.StoreTransaction;
import dev.courier.store.StoredMessage;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The broker's use of the durable store: definitions of durable exchanges, queues and bindings as
 * metadata records, persistent messages on durable queues as log records, and the rebuild of
 * both at start-up.
 *
 * <p>Metadata changes are submitted under the vhost lock and not awaited: the store's log is one
 * ordered stream, so any later confirm (which waits for its own fsync) also covers every earlier
 * definition. Thread-safe (the store is).
 */
final class DurableState {
    private static final Logger LOG = LoggerFactory.getLogger(DurableState.class);
    private static final String EXCHANGE = "exchange/";
    private static final String QUEUE = "queue/";
    private static final String BINDING = "binding/";
    private static final String VHOST = "vhost/";
    /** A deduplication key of a queue: {@code dedup/storeName\0key} = enqueue time (int64). */
    private static final String DEDUP = "dedup/";

    private static final String DEFAULT_VHOST = "/";
    /** Failed deliveries of one stored message on one queue: {@code delivery-count/queue\0id}. */
    private static final String DELIVERY_COUNT = "delivery-count/";

    private final MessageStore store;
    /**
     * In a cluster the metadata group holds vhosts, exchanges and bindings: they are neither written
     * to nor recovered from this store (so a deletion made while this node was down cannot come
     * back from here). Durable classic queues and their messages stay in this store.
     */
    private final boolean definitionsReplicated;

    DurableState(MessageStore store, boolean definitionsReplicated) {
        this.store = store;
        this.definitionsReplicated = definitionsReplicated;
    }

    MessageStore store() {
        return store;
    }

    // ---------------------------------------------------------------- definitions

    /**
     * The part of a metadata key and store queue name that says which vhost a definition belongs
     * to: nothing for {@code /} (so data written before vhosts existed reads as {@code /}), else
     * the vhost's name and a NUL.
     */
    static String scoped(String vhost, String name) {
        return vhost.equals(DEFAULT_VHOST) ? name : vhost + '\u0000' + name;
    }

    /** The store's name for a queue of a vhost. */
    static String storeName(String vhost, String queue) {
        return scoped(vhost, queue);
    }

    void recordVhost(String vhost) {
        if (!vhost.equals(DEFAULT_VHOST) && !definitionsReplicated) {
            store.putMetadata(VHOST + vhost, FieldTables.toBytes(Map.of("name", vhost)));
        }
    }

    void forgetVhost(String vhost) {
        store.deleteMetadata(VHOST + vhost);
    }

    void recordExchange(String vhost, Exchange exchange) {
        if (definitionsReplicated) {
            return;
        }
        Map<String, Object> table = new LinkedHashMap<>();
        table.put("vhost", vhost);
        table.put("name", exchange.name());
        table.put("type", exchange.type());
        table.put("auto_delete", exchange.autoDelete());
        table.put("internal", exchange.internal());
        table.put("arguments", exchange.arguments());
        store.putMetadata(EXCHANGE + scoped(vhost, exchange.name()), FieldTables.toBytes(table));
    }

    void forgetExchange(String vhost, String name) {
        if (definitionsReplicated) {
            return;
        }
        store.deleteMetadata(EXCHANGE + scoped(vhost, name));
    }

    void recordQueue(MessageQueue queue) {
        Map<String, Object> table = new LinkedHashMap<>();
        table.put("vhost", queue.vhost().name());
        table.put("name", queue.name());
        table.put("auto_delete", queue.autoDelete());
        table.put("arguments", queue.arguments());
        store.putMetadata(QUEUE + scoped(queue.vhost().name(), queue.name()), FieldTables.toBytes(table));
    }

    void forgetQueue(MessageQueue queue, StoreQueue storeQueue) {
        store.deleteMetadata(QUEUE + scoped(queue.vhost().name(), queue.name()));
        if (storeQueue != null) {
            store.deleteQueue(storeQueue);
        }
    }

    void recordBinding(String vhost, Binding binding) {
        if (definitionsReplicated) {
            return;
        }
        Map<String, Object> table = new LinkedHashMap<>();
        table.put("vhost", vhost);
        table.put("source", binding.source().name());
        table.put("destination", binding.destinationName());
        table.put("destination_type", binding.destinationType());
        table.put("routing_key", binding.routingKey());
        table.put("arguments", binding.arguments());
        store.putMetadata(bindingKey(vhost, binding), FieldTables.toBytes(table));
    }

    void forgetBinding(String vhost, Binding binding) {
        if (definitionsReplicated) {
            return;
        }
        store.deleteMetadata(bindingKey(vhost, binding));
    }

    private static String bindingKey(String vhost, Binding binding) {
        return BINDING
                + scoped(vhost, binding.source().name())
                + '\u0000'
                + binding.destinationType()
                + '\u0000'
                + binding.destinationName()
                + '\u0000'
                + binding.routingKey()
                + '\u0000'
                + binding.arguments().hashCode();
    }

    /** Bindings are durable when both ends are. */
    static boolean isDurable(Binding binding) {
        boolean destination = binding.destination() instanceof MessageQueue q
                ? isDurable(q)
                : ((Exchange) binding.destination()).durable();
        return binding.source().durable() && !binding.source().name().isEmpty() && destination;
    }

    /**
     * Exclusive queues die with their connection, so they are never recorded; quorum queues (and
     * their bindings) are kept by the cluster's log instead.
     */
    static boolean isDurable(MessageQueue queue) {
        return queue.durable()
                && !queue.exclusive()
                && !(queue instanceof QuorumQueue)
                && !(queue instanceof RemoteClassicQueue);
    }

    // ---------------------------------------------------------------- messages

    StoreQueue storeQueue(String vhost, String queueName) {
        return store.queue(storeName(vhost, queueName));
    }

    /**
     * Writes a persistent message once for all its durable queues; completes once fsynced. The
     * stored header is {@code publishedAtMs:int64 exchange:shortstr routingKey:shortstr
     * properties}: the publish time lets TTLs keep counting from it after a restart. The store's
     * attributes carry what rebuilding the queue entries needs without a read ({@link
     * StoredAttributes}).
     *
     * @param expiresAtMs the deadline the durable queues compute for it (0 = never), or -1 if
     *     they differ (then a restart reads the message to compute each queue's)
     */
    CompletableFuture<Void> persist(
            Message message, long messageId, List<StoreQueue> queues, long publishedAtMs, long expiresAtMs) {
        return persist(message, messageId, queues, publishedAtMs, expiresAtMs, null);
    }

    /**
     * As {@link #persist(Message, long, List, long, long)}, but with {@code transaction} not null
     * the record becomes part of it and this returns null: the transaction's commit tells when
     * it is durable.
     */
    CompletableFuture<Void> persist(
            Message message,
            long messageId,
            List<StoreQueue> queues,
            long publishedAtMs,
            long expiresAtMs,
            StoreTransaction transaction) {
        ByteBuf header = PooledByteBufAllocator.DEFAULT.buffer(
                72 + message.rawProperties().readableBytes());
        try {
            writeHeader(header, message, publishedAtMs);
            Integer priority = message.hasPriority() ? message.properties().priority() : null;
            long attributes = StoredAttributes.of(
                    priority == null ? 0 : priority, message.hasExpiration(), expiresAtMs, header.readableBytes());
            if (!message.isLarge()) {
                if (transaction != null) {
                    transaction.publish(messageId, attributes, header, message.body(), queues);
                    return null;
                }
                return store.publish(messageId, attributes, header, message.body(), queues);
            }
            // the record holds a reference to the blob; the confirm waits for both fsyncs. The
            // record is submitted now, not after the blob's fsync, so that it precedes any later
            // record for this id (an ack can come first); a crash between the two leaves a record
            // whose blob is torn, which recovery drops (it was never confirmed)
            Blob blob = message.largeBody();
            ByteBuf reference = PooledByteBufAllocator.DEFAULT.buffer(BLOB_REFERENCE_BYTES);
            try {
                reference.writeLong(blob.id()).writeLong(blob.sizeBytes());
                if (transaction != null) {
                    transaction.publish(messageId, attributes | StoredAttributes.LARGE, header, reference, queues);
                    return blob.force(); // the transaction's commit waits for it too
                }
                CompletableFuture<Void> record =
                        store.publish(messageId, attributes | StoredAttributes.LARGE, header, reference, queues);
                return CompletableFuture.allOf(record, blob.force());
            } finally {
                reference.release();
            }
        } finally {
            header.release();
        }
    }

    /** Writes a transaction's records as one unit. */
    CompletableFuture<Void> commit(StoreTransaction transaction) {
        return store.commit(transaction);
    }

    /** The stored body of a large message: {@code blobId:int64 bodySize:int64}. */
    private static final int BLOB_REFERENCE_BYTES = 16;

    /**
     * Writes a message's header as it is stored: {@code publishedAtMs:int64 exchange:shortstr
     * routingKey:shortstr properties} (quorum queues replicate the same header).
     */
    static void writeHeader(ByteBuf out, Message message, long publishedAtMs) {
        out.writeLong(publishedAtMs);
        writeShortString(out, message.exchange());
        writeShortString(out, message.routingKey());
        out.writeBytes(
                message.rawProperties(),
                message.rawProperties().readerIndex(),
                message.rawProperties().readableBytes());
    }

    /**
     * A message from a header written by {@link #writeHeader} and its body; the message takes a
     * reference to a slice of {@code header} (the caller keeps its own) and takes over {@code body}.
     */
    static Loaded readHeader(ByteBuf header, ByteBuf body) {
        long publishedAtMs = header.readLong();
        String exchange = readShortString(header);
        String routingKey = readShortString(header);
        return new Loaded(new Message(exchange, routingKey, header.retainedSlice(), body), publishedAtMs);
    }

    /** {@link #readHeader(ByteBuf, ByteBuf)} for a large message: takes over the blob reference. */
    static Loaded readHeader(ByteBuf header, Blob body) {
        long publishedAtMs = header.readLong();
        String exchange = readShortString(header);
        String routingKey = readShortString(header);
        return new Loaded(new Message(exchange, routingKey, header.retainedSlice(), body), publishedAtMs);
    }

    private static void writeShortString(ByteBuf out, String value) {
        byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
        out.writeByte(bytes.length).writeBytes(bytes);
    }

    private static String readShortString(ByteBuf in) {
        int length = in.readUnsignedByte();
        String value = in.toString(in.readerIndex(), length, StandardCharsets.UTF_8);
        in.skipBytes(length);
        return value;
    }

    /** A stored message as a broker message (owning the read buffers), or null if it is gone. */
    Message load(long messageId) throws IOException {
        Loaded loaded = loadWithTime(messageId, false); // large messages are never paged out
        return loaded == null ? null : loaded.message();
    }

    /** A stored message and the time it was published. */
    record Loaded(Message message, long publishedAtMs) {}

    /**
     * A stored message and its publish time, or null if it is gone; a large one (its stored body a
     * blob reference, see {@link StoredAttributes#LARGE}) also when its blob is missing or torn.
     */
    private Loaded loadWithTime(long messageId, boolean large) throws IOException {
        StoredMessage stored = store.read(messageId);
        if (stored == null) {
            return null;
        }
        ByteBuf header = stored.header();
        try {
            if (!large) {
                return readHeader(header, stored.body());
            }
            ByteBuf reference = stored.body();
            Blob blob;
            try {
                if (reference.readableBytes() != BLOB_REFERENCE_BYTES) {
                    throw new IOException("stored message " + messageId + " is flagged large but its body is "
                            + reference.readableBytes() + " bytes, not a blob reference");
                }
                blob = store.blobs()
                        .claim(
                                reference.getLong(reference.readerIndex()),
                                reference.getLong(reference.readerIndex() + 8));
            } finally {
                reference.release();
            }
            return blob == null ? null : readHeader(header, blob);
        } finally {
            header.release();
        }
    }

    /**
     * Records how many deliveries of a stored message failed (nack or reject with requeue, or
     * consumer loss), so x-delivery-limit keeps counting across a restart. Written only for queues
     * with a delivery limit, and only when a delivery fails: rare next to publishes and acks.
     */
    void recordFailedDeliveries(String storeName, long messageId, int failedDeliveries) {
        byte[] count = {
            (byte) (failedDeliveries >>> 24), (byte) (failedDeliveries >>> 16),
            (byte) (failedDeliveries >>> 8), (byte) failedDeliveries
        };
        store.putMetadata(deliveryCountKey(storeName, messageId), count);
    }

    /** Remembers a deduplication key on a durable queue, so the window survives a restart. */
    void recordDeduplicationKey(String storeName, String key, long atMs) {
        byte[] time = new byte[8];
        for (int i = 0; i < 8; i++) {
            time[i] = (byte) (atMs >>> (56 - 8 * i));
        }
        store.putMetadata(DEDUP + storeName + '\u0000' + key, time);
    }

    void forgetDeduplicationKey(String storeName, String key) {
        store.deleteMetadata(DEDUP + storeName + '\u0000' + key);
    }

    void forgetFailedDeliveries(String storeName, long messageId) {
        store.deleteMetadata(deliveryCountKey(storeName, messageId));
    }

    private static String deliveryCountKey(String storeName, long messageId) {
        return DELIVERY_COUNT + storeName + '\u0000' + messageId;
    }

    /** A new store id; never 0, which entries use for "not stored". */
    long nextMessageId() {
        long id = store.nextMessageId();
        return id != 0 ? id : store.nextMessageId();
    }

    void remove(StoreQueue queue, long messageId) {
        store.remove(queue, messageId);
    }

    void markDelivered(StoreQueue queue, long messageId) {
        store.markDelivered(queue, messageId);
    }

    void purge(StoreQueue queue) {
        store.purgeQueue(queue);
    }

    // ---------------------------------------------------------------- recovery

    /** Rebuilds durable exchanges, queues, bindings and messages into {@code vhost}. */
    void recover(java.util.function.Function<String, VirtualHost> vhostNamed) {
        RecoveredState state = store.recovered();
        List<String> vhosts = new ArrayList<>();
        List<Map<String, Object>> exchanges = new ArrayList<>();
        List<Map<String, Object>> queues = new ArrayList<>();
        List<Map<String, Object>> bindings = new ArrayList<>();
        Map<String, Integer> failedDeliveries = new HashMap<>();
        Map<String, List<Map.Entry<String, Long>>> dedupKeys = new HashMap<>();
        state.metadata().forEach((key, value) -> {
            if (key.startsWith(DEDUP)) {
                int nul = key.indexOf('\u0000', DEDUP.length());
                long at = 0;
                for (byte b : value) {
                    at = (at << 8) | (b & 0xff);
                }
                if (nul > 0) {
                    dedupKeys
                            .computeIfAbsent(key.substring(DEDUP.length(), nul), k -> new ArrayList<>())
                            .add(Map.entry(key.substring(nul + 1), at));
                }
                return;
            }
            if (key.startsWith(DELIVERY_COUNT)) {
                failedDeliveries.put(
                        key,
                        ((value[0] & 0xff) << 24)
                                | ((value[1] & 0xff) << 16)
                                | ((value[2] & 0xff) << 8)
                                | (value[3] & 0xff));
                return;
            }
            if (key.startsWith(QUEUE)) {
                queues.add(FieldTables.fromBytes(value));
            } else if (definitionsReplicated) {
                return; // records of a single-node past; the metadata group rules now
            } else if (key.startsWith(VHOST)) {
                vhosts.add(key.substring(VHOST.length()));
            } else if (key.startsWith(EXCHANGE)) {
                exchanges.add(FieldTables.fromBytes(value));
            } else if (key.startsWith(BINDING)) {
                bindings.add(FieldTables.fromBytes(value));
            } // other keys belong to other owners of the store (the server's users and permissions)
        });
        for (String vhost : vhosts) {
            VirtualHost created = vhostNamed.apply(vhost); // creates the vhost, even an empty one
            LOG.debug("recovered vhost '{}'", created.name());
        }
        for (Map<String, Object> x : exchanges) {
            vhostNamed
                    .apply(vhostOf(x))
                    .restoreExchange(
                            string(x, "name"),
                            string(x, "type"),
                            bool(x, "auto_delete"),
                            bool(x, "internal"),
                            table(x, "arguments"));
        }
        Map<String, ClassicQueue> restoredQueues = new LinkedHashMap<>();
        for (Map<String, Object> q : queues) {
            String name = string(q, "name");
            String storeName = storeName(vhostOf(q), name);
            ClassicQueue queue =
                    vhostNamed.apply(vhostOf(q)).restoreQueue(name, bool(q, "auto_delete"), table(q, "arguments"));
            List<Map.Entry<String, Long>> windowKeys = dedupKeys.remove(storeName);
            if (windowKeys != null) {
                windowKeys.sort(Map.Entry.comparingByValue()); // the window is kept in time order
                windowKeys.forEach(k -> queue.restoreDeduplicationKey(k.getKey(), k.getValue()));
            }
            restoredQueues.put(storeName, queue);
        }
        for (Map<String, Object> b : bindings) {
            try {
                vhostNamed
                        .apply(vhostOf(b))
                        .restoreBinding(
                                string(b, "source"),
                                string(b, "destination"),
                                string(b, "destination_type"),
                                string(b, "routing_key"),
                                table(b, "arguments"));
            } catch (AmqpException e) {
                LOG.warn("skipping a stored binding whose ends are gone: {}", e.getMessage());
            }
        }
        // messages last, once every queue and binding is back: a restored message may expire at
        // once and be dead-lettered, and its dead-letter queue must be there to take it
        long messages = 0;
        long messagesRead = 0;
        for (Map.Entry<String, ClassicQueue> restored : restoredQueues.entrySet()) {
            RecoveredQueue recovered = state.queues().get(restored.getKey());
            if (recovered != null) {
                RestoreCounts counts =
                        restoreMessages(restored.getValue(), restored.getKey(), recovered, failedDeliveries);
                messages += counts.restored();
                messagesRead += counts.read();
            }
        }
        for (String stale : failedDeliveries.keySet()) { // counts of messages gone with a purge or delete
            store.deleteMetadata(stale);
        }
        dedupKeys.forEach((storeName, keys) -> keys.forEach(k -> forgetDeduplicationKey(storeName, k.getKey())));
        // every live large message has claimed its blob by now (they are read, never paged out)
        store.blobs().deleteUnclaimed();
        store.releaseRecovered();
        LOG.info(
                "recovered {} vhost(s) besides '/', {} durable exchange(s), {} durable queue(s) with {} message(s)"
                        + " ({} read into memory, the rest left on disk), {} binding(s)",
                vhosts.size(),
                exchanges.size(),
                queues.size(),
                messages,
                messagesRead,
                bindings.size());
    }

    private record RestoreCounts(long restored, long read) {}

    /**
     * Puts a recovered queue's messages back in queue order. Only the first {@code
     * queue_memory_window} are read; the others become paged-out entries built from their stored
     * attributes, read when they reach the head like messages paged out at run time. A message
     * whose attributes are unknown (see {@link StoredAttributes}) is read wherever it is.
     *
     * <p>A queue with x-message-deduplication has every message read: restoring a message also
     * re-remembers its deduplication key, covering a crash between the message's record and its
     * key's. Skipping that for messages beyond the window would let a publisher's retry of such a
     * message through as a duplicate; such queues are rarely long, so their reads are accepted.
     */
    private RestoreCounts restoreMessages(
            ClassicQueue queue, String storeName, RecoveredQueue recovered, Map<String, Integer> failedDeliveries) {
        boolean readAll = queue.features().deduplication();
        long restored = 0;
        long read = 0;
        int pagedOutFrom = 0; // the entries from here to i go to the queue paged out, in one command
        for (int i = 0; i < recovered.messageCount(); i++) {
            long attributes = recovered.attributes(i);
            boolean large = StoredAttributes.isLarge(attributes);
            // a large message is always loaded: it costs a few bytes, and loading claims its blob
            boolean pagedOut =
                    !readAll && !large && read >= queue.memoryWindowMessages() && StoredAttributes.isSet(attributes);
            if (pagedOut) {
                if (i - pagedOutFrom == RESTORE_BATCH) {
                    restored += restorePagedOut(queue, storeName, recovered, pagedOutFrom, i, failedDeliveries);
                    pagedOutFrom = i;
                }
                continue;
            }
            restored += restorePagedOut(queue, storeName, recovered, pagedOutFrom, i, failedDeliveries);
            pagedOutFrom = i + 1;
            long id = recovered.messageId(i);
            int failed = failedDeliveries(failedDeliveries, storeName, id);
            try {
                Loaded loaded = loadWithTime(id, large);
                if (loaded != null) {
                    queue.restore(loaded.message(), id, recovered.redelivered(i), failed, loaded.publishedAtMs());
                    restored++;
                    read++;
                } else if (large) {
                    // its blob did not survive (a crash before the blob's fsync: never confirmed)
                    LOG.error(
                            "queue '{}': stored large message {} has no usable blob; it is dropped", queue.name(), id);
                    remove(recovered.queue(), id);
                }
            } catch (IOException e) {
                LOG.error("queue '{}': cannot read stored message {}; it is skipped", queue.name(), id, e);
            }
        }
        restored +=
                restorePagedOut(queue, storeName, recovered, pagedOutFrom, recovered.messageCount(), failedDeliveries);
        return new RestoreCounts(restored, read);
    }

    /** Entries restored paged out per queue command: a few thousand, so the rebuild posts few commands. */
    private static final int RESTORE_BATCH = 4096;

    private static int restorePagedOut(
            ClassicQueue queue,
            String storeName,
            RecoveredQueue recovered,
            int from,
            int to,
            Map<String, Integer> failedDeliveries) {
        if (from >= to) {
            return 0;
        }
        int[] failed = null;
        if (!failedDeliveries.isEmpty()) {
            failed = new int[to - from];
            for (int i = from; i < to; i++) {
                failed[i - from] = failedDeliveries(failedDeliveries, storeName, recovered.messageId(i));
            }
        }
        queue.restorePagedOut(recovered, from, to, failed);
        return to - from;
    }

    /** Takes the message's failed-delivery count out of the recovered ones (0 if none). */
    private static int failedDeliveries(Map<String, Integer> failedDeliveries, String storeName, long messageId) {
        if (failedDeliveries.isEmpty()) {
            return 0;
        }
        Integer failed = failedDeliveries.remove(deliveryCountKey(storeName, messageId));
        return failed == null ? 0 : failed;
    }

    /** The vhost a stored definition belongs to; definitions from before vhosts existed are "/". */
    private static String vhostOf(Map<String, Object> table) {
        String vhost = FieldTables.getString(table, "vhost");
        return vhost == null ? DEFAULT_VHOST : vhost;
    }

    private static String string(Map<String, Object> table, String key) {
        return FieldTables.getString(table, key);
    }

    private static boolean bool(Map<String, Object> table, String key) {
        return Boolean.TRUE.equals(FieldTables.getBoolean(table, key));
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> table(Map<String, Object> table, String key) {
        Object value = table.get(key);
        return value instanceof Map<?, ?> map ? (Map<String, Object>) map : Map.of();
    }
}
