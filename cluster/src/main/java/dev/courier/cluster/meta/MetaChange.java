package dev.courier.cluster.meta;

/** One key's change as applied: its new value, or null when it was removed. Immutable. */
public record MetaChange(String key, byte[] value) {
    /** Whether the key was removed. */
    public boolean removed() {
        return value == null;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof MetaChange c && KeyedBytes.same(key, value, c.key, c.value);
    }

    @Override
    public int hashCode() {
        return KeyedBytes.hash(key, value);
    }

    @Override
    public String toString() {
        return KeyedBytes.describe("MetaChange", key, value);
    }
}
