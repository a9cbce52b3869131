package dev.courier.cluster.meta;

import java.util.Arrays;

/** One key's change as applied: its new value, or null when it was removed. Immutable. */
public record MetaChange(String key, byte[] value) {
    /** Whether the key was removed. */
    public boolean removed() {
        return value == null;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof MetaChange c && key.equals(c.key) && Arrays.equals(value, c.value);
    }

    @Override
    public int hashCode() {
        return 31 * key.hashCode() + Arrays.hashCode(value);
    }

    @Override
    public String toString() {
        return value == null
                ? "MetaChange[" + key + " removed]"
                : "MetaChange[" + key + ", " + value.length + " bytes]";
    }
}
