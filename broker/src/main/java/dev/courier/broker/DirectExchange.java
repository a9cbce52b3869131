package dev.courier.broker;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Routes to the bindings whose key equals the routing key. */
final class DirectExchange extends Exchange {
    private volatile Map<String, Object[]> table = Map.of();

    DirectExchange(String name, boolean durable, boolean autoDelete, boolean internal, Map<String, Object> arguments) {
        super(name, "direct", durable, autoDelete, internal, arguments);
    }

    @Override
    void rebuild(List<Binding> updated) {
        Map<String, List<Object>> byKey = new HashMap<>();
        for (Binding binding : updated) {
            List<Object> destinations = byKey.computeIfAbsent(binding.routingKey(), k -> new ArrayList<>());
            if (!destinations.contains(binding.destination())) {
                destinations.add(binding.destination());
            }
        }
        Map<String, Object[]> rebuilt = new HashMap<>();
        byKey.forEach((key, destinations) -> rebuilt.put(key, destinations.toArray()));
        table = rebuilt;
    }

    @Override
    void route(Router router) {
        Object[] destinations = table.get(router.routingKey());
        if (destinations != null) {
            for (Object destination : destinations) {
                router.add(destination);
            }
        }
    }
}
