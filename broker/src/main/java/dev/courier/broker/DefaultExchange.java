package dev.courier.broker;

import java.util.List;
import java.util.Map;

/**
 * The nameless default exchange: every queue is implicitly bound to it by its own name. It has
 * no binding table; routing looks the queue up directly.
 */
final class DefaultExchange extends Exchange {
    private final Map<String, MessageQueue> queues;

    DefaultExchange(Map<String, MessageQueue> queues) {
        super("", "direct", true, false, false, Map.of());
        this.queues = queues;
    }

    @Override
    void rebuild(List<Binding> updated) {
        // bindings to the default exchange are refused; nothing to build
    }

    @Override
    void route(Router router) {
        MessageQueue queue = queues.get(router.routingKey());
        if (queue != null) {
            router.add(queue);
        }
    }
}
