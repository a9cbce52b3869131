package dev.courier.broker;

import dev.courier.protocol.BasicProperties;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;

/**
 * A queue's deduplication window (x-message-deduplication): the keys of messages enqueued in the
 * last {@code windowMs}, oldest first, at most {@code maxKeys} of them. A message whose key is in
 * the window is a duplicate. The key is the {@code x-deduplication-header} header when the queue
 * names one and the message has it, else the {@code message_id} property; a message with neither
 * is never a duplicate.
 *
 * <p>Memory: about 100 bytes per remembered key plus the key itself, so the default 1,000,000
 * keys of 36-character UUIDs take roughly 150 MB; lower x-deduplication-max-keys to bound it.
 * Confined to the queue's actor thread.
 */
final class Deduplication {
    private final long windowMs;
    private final long maxKeys;
    private final String header;
    private final Consumer<String> onForget;
    /** Key to the time it was enqueued; insertion (= time) order. */
    private final LinkedHashMap<String, Long> keys = new LinkedHashMap<>();

    private long duplicates;

    /** @param onForget told about each key that leaves the window (to drop its durable record) */
    Deduplication(QueueArguments arguments, Consumer<String> onForget) {
        this.windowMs = arguments.deduplicationWindowMs();
        this.maxKeys = arguments.deduplicationMaxKeys();
        this.header = arguments.deduplicationHeader();
        this.onForget = onForget;
    }

    /** The message's deduplication key, or null when it has none. */
    String keyOf(Message message) {
        return keyOf(message, header);
    }

    /**
     * The deduplication key of a message: the value of {@code header} (x-deduplication-header)
     * when set and present, else its message_id; null when it has neither.
     */
    static String keyOf(Message message, String header) {
        BasicProperties properties = message.properties();
        if (header != null && properties.headers() != null) {
            Object value = properties.headers().get(header);
            if (value instanceof byte[] bytes) {
                return new String(bytes, StandardCharsets.UTF_8);
            }
            if (value != null) {
                return value.toString();
            }
        }
        return properties.messageId();
    }

    /** Whether {@code key} was enqueued within the window; counts duplicates. */
    boolean isDuplicate(String key, long nowMs) {
        expire(nowMs);
        if (keys.containsKey(key)) {
            duplicates++;
            return true;
        }
        return false;
    }

    /** Remembers a key just enqueued (or recovered with its original time). */
    void remember(String key, long atMs) {
        keys.put(key, atMs);
        while (keys.size() > maxKeys) {
            Iterator<Map.Entry<String, Long>> eldest = keys.entrySet().iterator();
            String dropped = eldest.next().getKey();
            eldest.remove();
            onForget.accept(dropped);
        }
    }

    private void expire(long nowMs) {
        Iterator<Map.Entry<String, Long>> it = keys.entrySet().iterator();
        while (it.hasNext()) {
            Map.Entry<String, Long> oldest = it.next();
            if (nowMs - oldest.getValue() < windowMs) {
                return;
            }
            it.remove();
            onForget.accept(oldest.getKey());
        }
    }

    boolean contains(String key) {
        return keys.containsKey(key);
    }

    int size() {
        return keys.size();
    }

    long duplicates() {
        return duplicates;
    }
}
