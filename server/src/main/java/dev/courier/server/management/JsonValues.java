package dev.courier.server.management;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Conversions between AMQP field-table values and JSON values, as RabbitMQ's management API does
 * them: byte arrays become strings when UTF-8 (else base64), timestamps become epoch seconds.
 */
final class JsonValues {
    private JsonValues() {}

    /** An AMQP table (arguments, headers) as JSON-ready values. */
    static Map<String, Object> toJson(Map<String, Object> table) {
        Map<String, Object> out = new LinkedHashMap<>();
        if (table != null) {
            table.forEach((key, value) -> out.put(key, toJson(value)));
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    static Object toJson(Object value) {
        if (value instanceof Map<?, ?> map) {
            return toJson((Map<String, Object>) map);
        }
        if (value instanceof List<?> list) {
            List<Object> out = new ArrayList<>(list.size());
            for (Object element : list) {
                out.add(toJson(element));
            }
            return out;
        }
        if (value instanceof byte[] bytes) {
            return Base64.getEncoder().encodeToString(bytes);
        }
        if (value instanceof Instant instant) {
            return instant.getEpochSecond();
        }
        if (value instanceof CharSequence || value instanceof Number || value instanceof Boolean || value == null) {
            return value instanceof CharSequence s ? s.toString() : value;
        }
        return value.toString();
    }

    /**
     * JSON arguments (from a PUT body) as an AMQP table: JSON integers become longs, as
     * RabbitMQ's management API sends them (so {@code "x-max-length": 10} works).
     */
    @SuppressWarnings("unchecked")
    static Map<String, Object> toTable(Object json, String what) {
        if (json == null) {
            return Map.of();
        }
        if (!(json instanceof Map<?, ?> map)) {
            throw ApiException.badRequest(what + " must be a JSON object");
        }
        Map<String, Object> out = new LinkedHashMap<>();
        for (Map.Entry<String, Object> entry : ((Map<String, Object>) map).entrySet()) {
            out.put(entry.getKey(), toTableValue(entry.getValue(), what + "." + entry.getKey()));
        }
        return out;
    }

    private static Object toTableValue(Object value, String what) {
        if (value instanceof Integer i) {
            return i.longValue();
        }
        if (value instanceof Map<?, ?>) {
            return toTable(value, what);
        }
        if (value instanceof List<?> list) {
            List<Object> out = new ArrayList<>(list.size());
            for (Object element : list) {
                out.add(toTableValue(element, what));
            }
            return out;
        }
        if (value == null
                || value instanceof String
                || value instanceof Long
                || value instanceof Boolean
                || value instanceof Double) {
            return value;
        }
        if (value instanceof Number n) {
            return n.doubleValue();
        }
        throw ApiException.badRequest(what + " has an unsupported value " + value);
    }
}
