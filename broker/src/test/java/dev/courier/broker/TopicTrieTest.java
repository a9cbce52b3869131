package dev.courier.broker;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

/** The topic trie agrees with a straightforward matcher on random patterns and keys. */
class TopicTrieTest {
    @Provide
    Arbitrary<List<String>> patterns() {
        Arbitrary<String> word = Arbitraries.of("a", "b", "c", "*", "#", "");
        return word.list()
                .ofMinSize(1)
                .ofMaxSize(5)
                .map(words -> String.join(".", words))
                .list()
                .ofMinSize(1)
                .ofMaxSize(6);
    }

    @Provide
    Arbitrary<String> keys() {
        return Arbitraries.of("a", "b", "c", "")
                .list()
                .ofMinSize(1)
                .ofMaxSize(6)
                .map(words -> String.join(".", words));
    }

    @Property(tries = 2000)
    void shouldMatchExactlyWhatTheReferenceMatcherMatches(
            @ForAll("patterns") List<String> patterns, @ForAll("keys") String key) {
        Exchange exchange = new TopicExchange("t", false, false, false, Map.of());
        List<Binding> bindings = new ArrayList<>();
        for (int i = 0; i < patterns.size(); i++) {
            bindings.add(new Binding(exchange, "dest" + i, patterns.get(i), Map.of()));
        }
        TopicTrie trie = TopicTrie.build(bindings);
        Set<Object> matched = new HashSet<>();
        trie.match(key, matched::add);
        Set<Object> expected = new HashSet<>();
        for (int i = 0; i < patterns.size(); i++) {
            if (referenceMatches(patterns.get(i), key)) {
                expected.add("dest" + i);
            }
        }
        assertThat(matched).as("key '%s' against %s", key, patterns).isEqualTo(expected);
    }

    /** Words matched recursively: '*' one word, '#' zero or more. */
    static boolean referenceMatches(String pattern, String key) {
        return match(TopicTrie.split(pattern), 0, TopicTrie.split(key), 0);
    }

    private static boolean match(String[] p, int i, String[] k, int j) {
        if (i == p.length) {
            return j == k.length;
        }
        if (p[i].equals("#")) {
            for (int skip = j; skip <= k.length; skip++) {
                if (match(p, i + 1, k, skip)) {
                    return true;
                }
            }
            return false;
        }
        if (j == k.length) {
            return false;
        }
        return (p[i].equals("*") || p[i].equals(k[j])) && match(p, i + 1, k, j + 1);
    }

    @Test
    void shouldSplitLikeRabbitMq() {
        assertThat(TopicTrie.split("")).containsExactly("");
        assertThat(TopicTrie.split("a..b")).containsExactly("a", "", "b");
        assertThat(TopicTrie.split(".")).containsExactly("", "");
        assertThat(Pattern.compile("x").matcher("x").matches()).isTrue();
    }
}
