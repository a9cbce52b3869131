package dev.courier.broker;

import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;

/** Field-table values described with RabbitMQ's type names, for error texts. */
final class AmqpTypes {
    private AmqpTypes() {}

    /** RabbitMQ's name of the field-table type a decoded value came from. */
    static String typeName(Object value) {
        if (value == null) {
            return "void";
        }
        if (value instanceof String) {
            return "longstr";
        }
        if (value instanceof Boolean) {
            return "bool";
        }
        if (value instanceof Long) {
            return "long";
        }
        if (value instanceof Integer) {
            return "signedint";
        }
        if (value instanceof Short) {
            return "short";
        }
        if (value instanceof Byte) {
            return "byte";
        }
        if (value instanceof Double) {
            return "double";
        }
        if (value instanceof Float) {
            return "float";
        }
        if (value instanceof BigDecimal) {
            return "decimal";
        }
        if (value instanceof byte[]) {
            return "binary";
        }
        if (value instanceof Instant || value instanceof Date) {
            return "timestamp";
        }
        if (value instanceof Map) {
            return "table";
        }
        if (value instanceof List) {
            return "array";
        }
        return value.getClass().getSimpleName();
    }

    /** The value as RabbitMQ prints it in "the value 'v' of type 't'". */
    static String text(Object value) {
        return value instanceof byte[] bytes ? new String(bytes, StandardCharsets.UTF_8) : String.valueOf(value);
    }

    /** Integers of any width are one type class, floats another, as RabbitMQ compares them. */
    static boolean sameTypeClassAndValue(Object a, Object b) {
        if (a instanceof Number x && b instanceof Number y) {
            boolean floatX = x instanceof Float || x instanceof Double;
            boolean floatY = y instanceof Float || y instanceof Double;
            if (floatX != floatY) {
                return false;
            }
            if (floatX) {
                return x.doubleValue() == y.doubleValue();
            }
            if (x instanceof BigDecimal || y instanceof BigDecimal) {
                return new BigDecimal(x.toString()).compareTo(new BigDecimal(y.toString())) == 0;
            }
            return x.longValue() == y.longValue();
        }
        if (a instanceof byte[] x && b instanceof byte[] y) {
            return java.util.Arrays.equals(x, y);
        }
        return java.util.Objects.equals(a, b);
    }
}
