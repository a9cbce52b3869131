package dev.courier.broker;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * An immutable trie of topic binding patterns, built once per binding change and then matched
 * concurrently without locks. Matching walks the routing key's words once per live trie branch;
 * '#' nodes may consume any number of words.
 */
final class TopicTrie {
    private static final class Node {
        final Map<String, Node> children = new HashMap<>();
        Node star;
        Node hash;
        List<Object> destinations;
    }

    private final Node root;

    private TopicTrie(Node root) {
        this.root = root;
    }

    static TopicTrie build(List<Binding> bindings) {
        Node root = new Node();
        for (Binding binding : bindings) {
            Node node = root;
            for (String word : split(binding.routingKey())) {
                node = switch (word) {
                    case "*" -> node.star == null ? (node.star = new Node()) : node.star;
                    case "#" -> node.hash == null ? (node.hash = new Node()) : node.hash;
                    default -> node.children.computeIfAbsent(word, w -> new Node());
                };
            }
            if (node.destinations == null) {
                node.destinations = new ArrayList<>(2);
            }
            if (!node.destinations.contains(binding.destination())) {
                node.destinations.add(binding.destination());
            }
        }
        return new TopicTrie(root);
    }

    /** Passes every destination whose pattern matches {@code routingKey} (possibly repeatedly). */
    void match(String routingKey, Consumer<Object> sink) {
        match(root, split(routingKey), 0, sink);
    }

    private static void match(Node node, String[] words, int index, Consumer<Object> sink) {
        if (node.hash != null) {
            // '#' consumes zero or more words: try every split point
            for (int i = index; i <= words.length; i++) {
                match(node.hash, words, i, sink);
            }
        }
        if (index == words.length) {
            if (node.destinations != null) {
                for (Object destination : node.destinations) {
                    sink.accept(destination);
                }
            }
            return;
        }
        Node child = node.children.get(words[index]);
        if (child != null) {
            match(child, words, index + 1, sink);
        }
        if (node.star != null) {
            match(node.star, words, index + 1, sink);
        }
    }

    /** Splits on '.', keeping empty words (RabbitMQ: "a..b" has three words, "" has one). */
    static String[] split(String key) {
        int count = 1;
        for (int i = 0; i < key.length(); i++) {
            if (key.charAt(i) == '.') {
                count++;
            }
        }
        String[] words = new String[count];
        int start = 0;
        int w = 0;
        for (int i = 0; i < key.length(); i++) {
            if (key.charAt(i) == '.') {
                words[w++] = key.substring(start, i);
                start = i + 1;
            }
        }
        words[w] = key.substring(start);
        return words;
    }
}
