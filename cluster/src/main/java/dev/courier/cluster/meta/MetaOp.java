package dev.courier.cluster.meta;

import java.util.Objects;

/**
 * One step of a {@link MetaBatch}: a write to the replicated key-value map, or a condition the map
 * must meet for the batch to apply. Keys are non-empty strings; values are opaque bytes. Immutable.
 */
public sealed interface MetaOp {
    /** Sets {@code key} to {@code value}. */
    record Put(String key, byte[] value) implements MetaOp {
        public Put {
            checkKey(key);
            Objects.requireNonNull(value, "value");
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Put p && KeyedBytes.same(key, value, p.key, p.value);
        }

        @Override
        public int hashCode() {
            return KeyedBytes.hash(key, value);
        }

        @Override
        public String toString() {
            return KeyedBytes.describe("Put", key, value);
        }
    }

    /**
     * Sets {@code key} to {@code value} when it is absent; holds when it already has exactly this
     * value; rejects the batch (answering the value in force) when it has another one.
     */
    record PutIfAbsent(String key, byte[] value) implements MetaOp {
        public PutIfAbsent {
            checkKey(key);
            Objects.requireNonNull(value, "value");
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof PutIfAbsent p && KeyedBytes.same(key, value, p.key, p.value);
        }

        @Override
        public int hashCode() {
            return KeyedBytes.hash(key, value);
        }

        @Override
        public String toString() {
            return KeyedBytes.describe("PutIfAbsent", key, value);
        }
    }

    /** Removes {@code key}; nothing happens when it is absent. */
    record Delete(String key) implements MetaOp {
        public Delete {
            checkKey(key);
        }
    }

    /** Removes every key starting with {@code prefix}. */
    record DeletePrefix(String prefix) implements MetaOp {
        public DeletePrefix {
            checkKey(prefix);
        }
    }

    /** A condition: {@code key} is present, else the batch is rejected. */
    record ExpectPresent(String key) implements MetaOp {
        public ExpectPresent {
            checkKey(key);
        }
    }

    /** A condition: no key starts with {@code prefix}, else the batch is rejected (answering the first such key). */
    record ExpectNoPrefix(String prefix) implements MetaOp {
        public ExpectNoPrefix {
            checkKey(prefix);
        }
    }

    private static void checkKey(String key) {
        if (key == null || key.isEmpty()) {
            throw new IllegalArgumentException("a metadata key must not be empty");
        }
    }
}
