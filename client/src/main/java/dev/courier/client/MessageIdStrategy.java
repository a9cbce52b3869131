package dev.courier.client;

import com.rabbitmq.client.Delivery;
import java.util.Map;
import java.util.Objects;

/**
 * How {@link ExactlyOnceConsumer} finds a delivery's identity: the {@code message_id} property by
 * default, or a header the publisher sets (an idempotency key), or a fallback chain. A delivery
 * for which the strategy finds no id is rejected without requeue (dead-lettered when the queue has
 * a dead-letter exchange), because without an id it cannot be deduplicated.
 */
@FunctionalInterface
public interface MessageIdStrategy {
    /** The delivery's id, or null when it has none. */
    String idOf(Delivery delivery);

    /** The AMQP {@code message_id} property. */
    static MessageIdStrategy messageId() {
        return delivery -> blankToNull(delivery.getProperties().getMessageId());
    }

    /** The value of header {@code name}, as text. */
    static MessageIdStrategy header(String name) {
        Objects.requireNonNull(name, "name");
        return delivery -> {
            Map<String, Object> headers = delivery.getProperties().getHeaders();
            Object value = headers == null ? null : headers.get(name);
            return value == null ? null : blankToNull(value.toString());
        };
    }

    /** This strategy's id, or {@code fallback}'s when this one finds none. */
    default MessageIdStrategy orElse(MessageIdStrategy fallback) {
        Objects.requireNonNull(fallback, "fallback");
        return delivery -> {
            String id = idOf(delivery);
            return id != null ? id : fallback.idOf(delivery);
        };
    }

    private static String blankToNull(String value) {
        return value == null || value.isBlank() ? null : value;
    }
}
