package dev.courier.cluster.meta;

import java.util.Arrays;

/**
 * Equality, hash and text for the records that pair a key with a byte-array value ({@link
 * MetaOp.Put}, {@link MetaOp.PutIfAbsent}, {@link MetaChange}): a record compares arrays by
 * identity, so each overrides its methods with these. Stateless.
 */
final class KeyedBytes {
    private KeyedBytes() {}

    static boolean same(String key, byte[] value, String otherKey, byte[] otherValue) {
        return key.equals(otherKey) && Arrays.equals(value, otherValue);
    }

    static int hash(String key, byte[] value) {
        return 31 * key.hashCode() + Arrays.hashCode(value);
    }

    /** {@code Name[key, N bytes]}, or {@code Name[key removed]} for a null value. */
    static String describe(String name, String key, byte[] value) {
        return value == null ? name + "[" + key + " removed]" : name + "[" + key + ", " + value.length + " bytes]";
    }
}
