package dev.courier.broker;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Routes to every binding, ignoring the routing key. */
final class FanoutExchange extends Exchange {
    private volatile Object[] destinations = new Object[0];

    FanoutExchange(String name, boolean durable, boolean autoDelete, boolean internal, Map<String, Object> arguments) {
        super(name, "fanout", durable, autoDelete, internal, arguments);
    }

    @Override
    void rebuild(List<Binding> updated) {
        Set<Object> unique = new LinkedHashSet<>();
        for (Binding binding : updated) {
            unique.add(binding.destination());
        }
        destinations = unique.toArray();
    }

    @Override
    void route(Router router) {
        for (Object destination : destinations) {
            router.add(destination);
        }
    }
}
