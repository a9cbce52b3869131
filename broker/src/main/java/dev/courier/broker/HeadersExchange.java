package dev.courier.broker;

import dev.courier.protocol.FieldTables;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Routes on message headers: x-match {@code all} (default) or {@code any}, and RabbitMQ 3.10's
 * {@code all-with-x} / {@code any-with-x} which also compare {@code x-} keys (plain all/any
 * ignore them). A binding value of void (null) matches on presence alone; numbers match by value
 * (1 matches 1L and 1.0, as RabbitMQ 3.10 does), other values by type and value.
 */
final class HeadersExchange extends Exchange {
    /** One binding's criteria, parsed once when the bindings change. */
    private record Criteria(boolean any, String[] keys, Object[] values, Object destination) {
        boolean matches(Map<String, Object> headers) {
            for (int i = 0; i < keys.length; i++) {
                boolean hit = headers.containsKey(keys[i])
                        && (values[i] == null || valueEquals(values[i], headers.get(keys[i])));
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
    }

    private volatile Criteria[] table = new Criteria[0];

    HeadersExchange(String name, boolean durable, boolean autoDelete, boolean internal, Map<String, Object> arguments) {
        super(name, "headers", durable, autoDelete, internal, arguments);
    }

    @Override
    void validateBinding(Binding binding) {
        Map<String, Object> arguments = binding.arguments();
        if (!arguments.containsKey("x-match")) {
            return;
        }
        Object mode = arguments.get("x-match");
        if (!(mode instanceof String)) {
            throw AmqpException.preconditionFailed("Invalid x-match field type " + typeName(mode) + " (value "
                    + describe(mode) + "); expected longstr");
        }
        if (!List.of("all", "any", "all-with-x", "any-with-x").contains(mode)) {
            throw AmqpException.preconditionFailed(
                    "Invalid x-match field value <<\"" + mode + "\">>; expected all, any, all-with-x, or any-with-x");
        }
    }

    @Override
    void rebuild(List<Binding> updated) {
        Criteria[] rebuilt = new Criteria[updated.size()];
        for (int i = 0; i < rebuilt.length; i++) {
            Binding binding = updated.get(i);
            rebuilt[i] = compile(binding.arguments(), binding.destination());
        }
        table = rebuilt;
    }

    private static Criteria compile(Map<String, Object> arguments, Object destination) {
        String mode = FieldTables.getString(arguments, "x-match");
        if (mode == null) {
            mode = "all";
        }
        boolean withX = mode.endsWith("-with-x");
        List<String> keys = new ArrayList<>();
        List<Object> values = new ArrayList<>();
        for (Map.Entry<String, Object> criterion : arguments.entrySet()) {
            String key = criterion.getKey();
            if (key.equals("x-match") || (!withX && key.startsWith("x-"))) {
                continue;
            }
            keys.add(key);
            values.add(criterion.getValue());
        }
        return new Criteria(mode.startsWith("any"), keys.toArray(new String[0]), values.toArray(), destination);
    }

    @Override
    void route(Router router) {
        Criteria[] bindings = table;
        if (bindings.length == 0) {
            return;
        }
        Map<String, Object> headers = router.message().properties().headers();
        if (headers == null) {
            headers = Map.of();
        }
        for (Criteria binding : bindings) {
            if (binding.matches(headers)) {
                router.add(binding.destination());
            }
        }
    }

    @Override
    boolean mayRepeat() {
        return true; // one queue bound with several matching argument sets
    }

    /** Whether a binding with these arguments matches these headers; for tests and tools. */
    static boolean matches(Map<String, Object> arguments, Map<String, Object> headers) {
        return compile(arguments, null).matches(headers);
    }

    /**
     * RabbitMQ 3.10 compares header values with Erlang's {@code ==}: numbers by value whatever
     * their width or kind (1 matches 1L and 1.0), everything else by type and value.
     */
    private static boolean valueEquals(Object expected, Object actual) {
        if (expected instanceof Number a
                && actual instanceof Number b
                && !(a instanceof BigDecimal)
                && !(b instanceof BigDecimal)) {
            boolean floating = a instanceof Float || a instanceof Double || b instanceof Float || b instanceof Double;
            return floating ? a.doubleValue() == b.doubleValue() : a.longValue() == b.longValue();
        }
        return AmqpTypes.sameTypeClassAndValue(expected, actual);
    }

    private static String typeName(Object value) {
        return value == null ? "void" : AmqpTypes.typeName(value);
    }

    private static String describe(Object value) {
        return AmqpTypes.text(value);
    }
}
