package dev.courier.broker;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An immutable trie of topic binding patterns, built once per binding change and then matched
 * concurrently without locks and without allocating: the routing key is split into word bounds
 * held by a reusable {@link Words}, and literal children are looked up by hashing the key's
 * characters in place.
 *
 * <p>Words are split on '.' as RabbitMQ does ({@code rabbit_db_topic_exchange:split_topic_key}):
 * the empty key has no words, {@code "a..b"} has three ({@code "a"}, {@code ""}, {@code "b"}).
 * {@code *} matches exactly one word, {@code #} zero or more.
 */
final class TopicTrie {
    /** The word bounds of one routing key; reusable, owned by one thread at a time. */
    static final class Words {
        private String key = "";
        private int[] starts = new int[16];
        private int[] ends = new int[16];
        private int count;

        /** Splits {@code routingKey}; the previous split is forgotten. */
        Words split(String routingKey) {
            key = routingKey;
            count = 0;
            int length = routingKey.length();
            if (length == 0) {
                return this; // RabbitMQ: the empty key has no words
            }
            int start = 0;
            for (int i = 0; i <= length; i++) {
                if (i == length || routingKey.charAt(i) == '.') {
                    if (count == starts.length) {
                        starts = Arrays.copyOf(starts, count * 2);
                        ends = Arrays.copyOf(ends, count * 2);
                    }
                    starts[count] = start;
                    ends[count] = i;
                    count++;
                    start = i + 1;
                }
            }
            return this;
        }

        int count() {
            return count;
        }

        /** Word {@code index} as a string (tests and trie building only; allocates). */
        String word(int index) {
            return key.substring(starts[index], ends[index]);
        }

        /** Drops the reference to the last key. */
        void clear() {
            key = "";
            count = 0;
        }
    }

    private static final Object[] NONE = new Object[0];

    /** A frozen trie node: literal children in an open-addressing table keyed by word. */
    private static final class Node {
        final String[] words;
        final Node[] children;
        final Node star;
        final Node hash;
        final Object[] destinations;

        Node(String[] words, Node[] children, Node star, Node hash, Object[] destinations) {
            this.words = words;
            this.children = children;
            this.star = star;
            this.hash = hash;
            this.destinations = destinations;
        }

        Node child(String key, int start, int end) {
            if (words == null) {
                return null;
            }
            int mask = words.length - 1;
            int length = end - start;
            for (int slot = hash(key, start, end) & mask; ; slot = (slot + 1) & mask) {
                String word = words[slot];
                if (word == null) {
                    return null;
                }
                if (word.length() == length && word.regionMatches(0, key, start, length)) {
                    return children[slot];
                }
            }
        }
    }

    /** A node while the trie is being built. */
    private static final class Draft {
        final Map<String, Draft> children = new LinkedHashMap<>();
        Draft star;
        Draft hash;
        List<Object> destinations;

        Node freeze() {
            String[] words = null;
            Node[] frozen = null;
            if (!children.isEmpty()) {
                int capacity = Integer.highestOneBit(children.size() * 2 + 1) << 1;
                words = new String[capacity];
                frozen = new Node[capacity];
                for (Map.Entry<String, Draft> child : children.entrySet()) {
                    String word = child.getKey();
                    int slot = hash(word, 0, word.length()) & (capacity - 1);
                    while (words[slot] != null) {
                        slot = (slot + 1) & (capacity - 1);
                    }
                    words[slot] = word;
                    frozen[slot] = child.getValue().freeze();
                }
            }
            return new Node(
                    words,
                    frozen,
                    star == null ? null : star.freeze(),
                    hash == null ? null : hash.freeze(),
                    destinations == null ? NONE : destinations.toArray());
        }
    }

    private final Node root;

    private TopicTrie(Node root) {
        this.root = root;
    }

    static TopicTrie build(List<Binding> bindings) {
        Draft root = new Draft();
        Words words = new Words();
        for (Binding binding : bindings) {
            Draft node = root;
            words.split(binding.routingKey());
            boolean afterHash = false;
            for (int i = 0; i < words.count(); i++) {
                String word = words.word(i);
                if (word.equals("#")) {
                    if (afterHash) {
                        continue; // "#.#" matches exactly what "#" matches; keeps matching linear
                    }
                    node = node.hash == null ? (node.hash = new Draft()) : node.hash;
                    afterHash = true;
                    continue;
                }
                afterHash = false;
                node = word.equals("*")
                        ? (node.star == null ? (node.star = new Draft()) : node.star)
                        : node.children.computeIfAbsent(word, w -> new Draft());
            }
            if (node.destinations == null) {
                node.destinations = new ArrayList<>(2);
            }
            if (!node.destinations.contains(binding.destination())) {
                node.destinations.add(binding.destination());
            }
        }
        return new TopicTrie(root.freeze());
    }

    /**
     * Passes every destination whose pattern matches the split key to {@code sink}; a destination
     * bound with several matching patterns is passed once per pattern.
     */
    void match(Words words, RouteSink sink) {
        match(root, words, 0, sink);
    }

    /** Convenience for tests: splits {@code routingKey} itself. */
    void match(String routingKey, RouteSink sink) {
        match(new Words().split(routingKey), sink);
    }

    private static void match(Node node, Words words, int index, RouteSink sink) {
        if (node.hash != null) {
            // '#' consumes zero or more words: try every split point
            for (int i = index; i <= words.count; i++) {
                match(node.hash, words, i, sink);
            }
        }
        if (index == words.count) {
            for (Object destination : node.destinations) {
                sink.add(destination);
            }
            return;
        }
        Node child = node.child(words.key, words.starts[index], words.ends[index]);
        if (child != null) {
            match(child, words, index + 1, sink);
        }
        if (node.star != null) {
            match(node.star, words, index + 1, sink);
        }
    }

    /** String.hashCode of {@code key[start, end)}, without creating the substring. */
    private static int hash(String key, int start, int end) {
        int h = 0;
        for (int i = start; i < end; i++) {
            h = 31 * h + key.charAt(i);
        }
        return h ^ (h >>> 16);
    }
}
