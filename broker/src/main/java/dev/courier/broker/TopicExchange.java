package dev.courier.broker;

import java.util.List;
import java.util.Map;

/** Routes by topic patterns: words split on '.', '*' matches one word, '#' zero or more. */
final class TopicExchange extends Exchange {
    private volatile TopicTrie trie = TopicTrie.build(List.of());

    TopicExchange(String name, boolean durable, boolean autoDelete, boolean internal, Map<String, Object> arguments) {
        super(name, "topic", durable, autoDelete, internal, arguments);
    }

    @Override
    void rebuild(List<Binding> updated) {
        trie = TopicTrie.build(updated);
    }

    @Override
    void route(Router router) {
        trie.match(router.words(), router);
    }

    @Override
    boolean mayRepeat() {
        return true; // one queue bound with several matching patterns
    }
}
