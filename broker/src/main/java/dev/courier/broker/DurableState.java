package dev.courier.broker;

import dev.courier.protocol.FieldTables;
import dev.courier.store.MessageStore;
import dev.courier.store.RecoveredQueue;
import dev.courier.store.RecoveredState;
import dev.courier.store.StoreQueue;
import dev.courier.store.StoredMessage;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
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
    /** Failed deliveries of one stored message on one queue: {@code delivery-count/queue\0id}. */
    private static final String DELIVERY_COUNT = "delivery-count/";

    private final MessageStore store;

    DurableState(MessageStore store) {
        this.store = store;
    }

    MessageStore store() {
        return store;
    }

    // ---------------------------------------------------------------- definitions

    void recordExchange(Exchange exchange) {
        Map<String, Object> table = new LinkedHashMap<>();
        table.put("name", exchange.name());
        table.put("type", exchange.type());
        table.put("auto_delete", exchange.autoDelete());
        table.put("internal", exchange.internal());
        table.put("arguments", exchange.arguments());
        store.putMetadata(EXCHANGE + exchange.name(), encode(table));
    }

    void forgetExchange(String name) {
        store.deleteMetadata(EXCHANGE + name);
    }

    void recordQueue(MessageQueue queue) {
        Map<String, Object> table = new LinkedHashMap<>();
        table.put("name", queue.name());
        table.put("auto_delete", queue.autoDelete());
        table.put("arguments", queue.arguments());
        store.putMetadata(QUEUE + queue.name(), encode(table));
    }

    void forgetQueue(MessageQueue queue, StoreQueue storeQueue) {
        store.deleteMetadata(QUEUE + queue.name());
        if (storeQueue != null) {
            store.deleteQueue(storeQueue);
        }
    }

    void recordBinding(Binding binding) {
        Map<String, Object> table = new LinkedHashMap<>();
        table.put("source", binding.source().name());
        table.put("destination", binding.destinationName());
        table.put("destination_type", binding.destinationType());
        table.put("routing_key", binding.routingKey());
        table.put("arguments", binding.arguments());
        store.putMetadata(bindingKey(binding), encode(table));
    }

    void forgetBinding(Binding binding) {
        store.deleteMetadata(bindingKey(binding));
    }

    private static String bindingKey(Binding binding) {
        return BINDING
                + binding.source().name()
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

    /** Exclusive queues die with their connection, so they are never recorded. */
    static boolean isDurable(MessageQueue queue) {
        return queue.durable() && !queue.exclusive();
    }

    private static byte[] encode(Map<String, Object> table) {
        ByteBuf buffer = Unpooled.buffer();
        try {
            FieldTables.write(buffer, table);
            return ByteBufUtil.getBytes(buffer);
        } finally {
            buffer.release();
        }
    }

    private static Map<String, Object> decode(byte[] bytes) {
        return FieldTables.read(Unpooled.wrappedBuffer(bytes));
    }

    // ---------------------------------------------------------------- messages

    StoreQueue storeQueue(String queueName) {
        return store.queue(queueName);
    }

    /**
     * Writes a persistent message once for all its durable queues; completes once fsynced. The
     * stored header is {@code publishedAtMs:int64 exchange:shortstr routingKey:shortstr
     * properties}: the publish time lets TTLs keep counting from it after a restart.
     */
    CompletableFuture<Void> persist(Message message, long messageId, List<StoreQueue> queues, long publishedAtMs) {
        ByteBuf header = PooledByteBufAllocator.DEFAULT.buffer(
                72 + message.rawProperties().readableBytes());
        try {
            header.writeLong(publishedAtMs);
            writeShortString(header, message.exchange());
            writeShortString(header, message.routingKey());
            header.writeBytes(
                    message.rawProperties(),
                    message.rawProperties().readerIndex(),
                    message.rawProperties().readableBytes());
            return store.publish(messageId, header, message.body(), queues);
        } finally {
            header.release();
        }
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
        Loaded loaded = loadWithTime(messageId);
        return loaded == null ? null : loaded.message();
    }

    /** A stored message and the time it was published. */
    record Loaded(Message message, long publishedAtMs) {}

    private Loaded loadWithTime(long messageId) throws IOException {
        StoredMessage stored = store.read(messageId);
        if (stored == null) {
            return null;
        }
        ByteBuf header = stored.header();
        try {
            long publishedAtMs = header.readLong();
            String exchange = readShortString(header);
            String routingKey = readShortString(header);
            ByteBuf properties = header.retainedSlice();
            return new Loaded(new Message(exchange, routingKey, properties, stored.body()), publishedAtMs);
        } finally {
            header.release();
        }
    }

    /**
     * Records how many deliveries of a stored message failed (nack or reject with requeue, or
     * consumer loss), so x-delivery-limit keeps counting across a restart. Written only for queues
     * with a delivery limit, and only when a delivery fails: rare next to publishes and acks.
     */
    void recordFailedDeliveries(String queueName, long messageId, int failedDeliveries) {
        byte[] count = {
            (byte) (failedDeliveries >>> 24), (byte) (failedDeliveries >>> 16),
            (byte) (failedDeliveries >>> 8), (byte) failedDeliveries
        };
        store.putMetadata(deliveryCountKey(queueName, messageId), count);
    }

    void forgetFailedDeliveries(String queueName, long messageId) {
        store.deleteMetadata(deliveryCountKey(queueName, messageId));
    }

    private static String deliveryCountKey(String queueName, long messageId) {
        return DELIVERY_COUNT + queueName + '\u0000' + messageId;
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
    void recover(VirtualHost vhost) {
        RecoveredState state = store.recovered();
        List<Map<String, Object>> exchanges = new ArrayList<>();
        List<Map<String, Object>> queues = new ArrayList<>();
        List<Map<String, Object>> bindings = new ArrayList<>();
        Map<String, Integer> failedDeliveries = new HashMap<>();
        state.metadata().forEach((key, value) -> {
            if (key.startsWith(DELIVERY_COUNT)) {
                failedDeliveries.put(
                        key,
                        ((value[0] & 0xff) << 24)
                                | ((value[1] & 0xff) << 16)
                                | ((value[2] & 0xff) << 8)
                                | (value[3] & 0xff));
                return;
            }
            if (key.startsWith(EXCHANGE)) {
                exchanges.add(decode(value));
            } else if (key.startsWith(QUEUE)) {
                queues.add(decode(value));
            } else if (key.startsWith(BINDING)) {
                bindings.add(decode(value));
            } // other keys belong to other owners of the store (the server's users and permissions)
        });
        for (Map<String, Object> x : exchanges) {
            vhost.restoreExchange(
                    string(x, "name"),
                    string(x, "type"),
                    bool(x, "auto_delete"),
                    bool(x, "internal"),
                    table(x, "arguments"));
        }
        int messages = 0;
        for (Map<String, Object> q : queues) {
            String name = string(q, "name");
            MessageQueue queue = vhost.restoreQueue(name, bool(q, "auto_delete"), table(q, "arguments"));
            RecoveredQueue recovered = state.queues().get(name);
            if (recovered != null) {
                for (int i = 0; i < recovered.messageCount(); i++) {
                    long id = recovered.messageId(i);
                    try {
                        Loaded loaded = loadWithTime(id);
                        if (loaded != null) {
                            Integer failed = failedDeliveries.remove(deliveryCountKey(name, id));
                            queue.restore(
                                    loaded.message(),
                                    id,
                                    recovered.redelivered(i),
                                    failed == null ? 0 : failed,
                                    loaded.publishedAtMs());
                            messages++;
                        }
                    } catch (IOException e) {
                        LOG.error("queue '{}': cannot read stored message {}; it is skipped", name, id, e);
                    }
                }
            }
        }
        for (Map<String, Object> b : bindings) {
            try {
                vhost.restoreBinding(
                        string(b, "source"),
                        string(b, "destination"),
                        string(b, "destination_type"),
                        string(b, "routing_key"),
                        table(b, "arguments"));
            } catch (AmqpException e) {
                LOG.warn("skipping a stored binding whose ends are gone: {}", e.getMessage());
            }
        }
        for (String stale : failedDeliveries.keySet()) { // counts of messages gone with a purge or delete
            store.deleteMetadata(stale);
        }
        store.releaseRecovered();
        LOG.info(
                "recovered {} durable exchange(s), {} durable queue(s) with {} message(s), {} binding(s)",
                exchanges.size(),
                queues.size(),
                messages,
                bindings.size());
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
