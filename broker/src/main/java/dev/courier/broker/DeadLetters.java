package dev.courier.broker;

import dev.courier.protocol.BasicProperties;
import io.netty.buffer.ByteBuf;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Dead-lettering as RabbitMQ does it: the message is republished to the queue's
 * x-dead-letter-exchange (with x-dead-letter-routing-key or its own routing key) carrying an
 * {@code x-death} history — one table per (queue, reason), most recent first, with a count — and
 * the {@code x-first-death-*} headers. A message that went round a cycle of queues with no
 * rejection in the cycle is dropped instead of circling forever.
 *
 * <p>Called on the dead-lettering queue's actor thread.
 */
final class DeadLetters {
    private DeadLetters() {}

    /**
     * Dead-letters one message (the caller's reference is consumed). Nothing happens beyond
     * releasing it when the queue has no dead-letter exchange or it does not exist.
     */
    static void deadLetter(MessageQueue from, QueueArguments arguments, Message message, String reason, long nowMs) {
        from.stats().increment(QueueStats.Counter.DEAD_LETTER);
        try {
            if (!arguments.deadLettering()) {
                return;
            }
            VirtualHost vhost = from.vhost();
            Exchange exchange = vhost.exchange(arguments.deadLetterExchange());
            if (exchange == null) {
                return; // RabbitMQ drops the message silently when the DLX is missing
            }
            Message dead = withDeath(
                    message,
                    from.name(),
                    reason,
                    nowMs,
                    arguments.deadLetterExchange(),
                    arguments.deadLetterRoutingKey());
            try {
                List<MessageQueue> targets = new ArrayList<>();
                vhost.route(dead.exchange(), dead.routingKey(), dead, targets);
                dropCycles(dead, targets);
                vhost.enqueue(dead, targets, null);
            } finally {
                dead.release();
            }
        } finally {
            message.release();
        }
    }

    /**
     * Removes the targets that would close a dead-letter cycle with no rejection in it, as RabbitMQ
     * does: a target is dropped when the message already died in it and none of the deaths since
     * (that one and the one just recorded included) was a rejection. A message that only ever
     * expires or overflows round a ring of queues is thus dropped on its way back, while one a
     * consumer rejects somewhere in the ring keeps going.
     */
    private static void dropCycles(Message dead, List<MessageQueue> targets) {
        Object history = dead.properties().headers().get("x-death");
        if (!(history instanceof List<?> deaths)) {
            return;
        }
        targets.removeIf(target -> closesAutomaticCycle(target.name(), deaths));
    }

    /** Whether dead-lettering into {@code queue} closes a cycle; {@code deaths} most recent first. */
    static boolean closesAutomaticCycle(String queue, List<?> deaths) {
        for (Object death : deaths) {
            if (death instanceof Map<?, ?> table) {
                if ("rejected".equals(String.valueOf(table.get("reason")))) {
                    return false; // a consumer decided: not an automatic cycle
                }
                if (queue.equals(String.valueOf(table.get("queue")))) {
                    return true;
                }
            }
        }
        return false;
    }

    /** A copy of {@code message} addressed to the DLX, with its x-death history updated. */
    static Message withDeath(
            Message message, String queue, String reason, long nowMs, String deadLetterExchange, String routingKey) {
        BasicProperties properties = message.properties();
        Map<String, Object> headers =
                properties.headers() == null ? new LinkedHashMap<>() : new LinkedHashMap<>(properties.headers());
        List<Object> deaths = new ArrayList<>();
        Map<String, Object> current = null;
        if (headers.get("x-death") instanceof List<?> previous) {
            for (Object death : previous) {
                if (death instanceof Map<?, ?> table
                        && queue.equals(String.valueOf(table.get("queue")))
                        && reason.equals(String.valueOf(table.get("reason")))) {
                    @SuppressWarnings("unchecked")
                    Map<String, Object> same = new LinkedHashMap<>((Map<String, Object>) table);
                    current = same;
                } else {
                    deaths.add(death);
                }
            }
        }
        if (current == null) {
            current = new LinkedHashMap<>();
            current.put("count", 1L);
            current.put("reason", reason);
            current.put("queue", queue);
            current.put("time", Instant.ofEpochSecond(nowMs / 1000));
            current.put("exchange", message.exchange());
            current.put("routing-keys", List.of(message.routingKey()));
        } else {
            // RabbitMQ counts a repeated (queue, reason) death in its first entry, which keeps the
            // time, exchange and routing keys of that first death and moves to the front
            Object count = current.get("count");
            current.put("count", (count instanceof Number n ? n.longValue() : 0L) + 1);
        }
        BasicProperties updated = properties;
        if (properties.expiration() != null) {
            // whatever the reason, RabbitMQ removes the per-message TTL so that the message does not
            // expire again in the queues it is dead-lettered to, and keeps it in the x-death entry
            current.put("original-expiration", properties.expiration());
            updated = updated.withExpiration(null);
        }
        deaths.add(0, current);
        headers.put("x-death", deaths);
        headers.putIfAbsent("x-first-death-reason", reason);
        headers.putIfAbsent("x-first-death-queue", queue);
        headers.putIfAbsent("x-first-death-exchange", message.exchange());
        updated = updated.withHeaders(headers);
        ByteBuf encoded =
                message.rawProperties().alloc().buffer(message.rawProperties().readableBytes() + 256);
        updated.encode(encoded);
        return message.withRouting(deadLetterExchange, routingKey != null ? routingKey : message.routingKey(), encoded);
    }

    /** A copy of {@code message} with the x-delivery-count header, for a redelivery. */
    static Message withDeliveryCount(Message message, int failedDeliveries) {
        BasicProperties properties = message.properties();
        Map<String, Object> headers =
                properties.headers() == null ? new LinkedHashMap<>() : new LinkedHashMap<>(properties.headers());
        headers.put("x-delivery-count", (long) failedDeliveries);
        ByteBuf encoded =
                message.rawProperties().alloc().buffer(message.rawProperties().readableBytes() + 32);
        properties.withHeaders(headers).encode(encoded);
        return message.withRouting(message.exchange(), message.routingKey(), encoded);
    }
}
