package dev.courier.broker;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Routes on message headers: x-match {@code all} (default) or {@code any}, and RabbitMQ 3.10's
 * {@code all-with-x} / {@code any-with-x} which also compare {@code x-} keys. A binding value of
 * void (null) matches on presence alone.
 */
final class HeadersExchange extends Exchange {
    private volatile Binding[] table = new Binding[0];

    HeadersExchange(String name, boolean durable, boolean autoDelete, boolean internal, Map<String, Object> arguments) {
        super(name, "headers", durable, autoDelete, internal, arguments);
    }

    @Override
    void rebuild(List<Binding> updated) {
        table = updated.toArray(new Binding[0]);
    }

    @Override
    void route(String routingKey, Message message, Consumer<Object> sink) {
        Binding[] bindings = table;
        if (bindings.length == 0) {
            return;
        }
        Map<String, Object> headers = message.properties().headers();
        for (Binding binding : bindings) {
            if (matches(binding.arguments(), headers == null ? Map.of() : headers)) {
                sink.accept(binding.destination());
            }
        }
    }

    static boolean matches(Map<String, Object> arguments, Map<String, Object> headers) {
        Object mode = arguments.get("x-match");
        String match = mode == null ? "all" : mode.toString();
        boolean any = match.startsWith("any");
        boolean withX = match.endsWith("-with-x");
        for (Map.Entry<String, Object> criterion : arguments.entrySet()) {
            String key = criterion.getKey();
            if (key.equals("x-match") || (!withX && key.startsWith("x-"))) {
                continue;
            }
            boolean hit = headers.containsKey(key)
                    && (criterion.getValue() == null || valueEquals(criterion.getValue(), headers.get(key)));
            if (any && hit) {
                return true;
            }
            if (!any && !hit) {
                return false;
            }
        }
        // all: every criterion matched (also true with none); any: none matched
        return !any;
    }

    private static boolean valueEquals(Object expected, Object actual) {
        if (expected instanceof Number a
                && actual instanceof Number b
                && !(a instanceof Float || a instanceof Double || b instanceof Float || b instanceof Double)) {
            return a.longValue() == b.longValue();
        }
        if (expected instanceof byte[] a && actual instanceof byte[] b) {
            return java.util.Arrays.equals(a, b);
        }
        return Objects.equals(expected, actual);
    }
}
