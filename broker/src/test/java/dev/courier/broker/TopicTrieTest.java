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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The topic trie against a regular-expression matcher and against RabbitMQ's documented cases. */
class TopicTrieTest {
    private static final Exchange EXCHANGE = new TopicExchange("t", false, false, false, Map.of());

    @Provide
    Arbitrary<List<String>> patterns() {
        Arbitrary<String> word = Arbitraries.of("a", "b", "ab", "*", "#", "");
        return word.list()
                .ofMinSize(0)
                .ofMaxSize(5)
                .map(words -> String.join(".", words))
                .list()
                .ofMinSize(1)
                .ofMaxSize(8);
    }

    @Provide
    Arbitrary<String> keys() {
        return Arbitraries.of("a", "b", "ab", "", "*", "#")
                .list()
                .ofMinSize(0)
                .ofMaxSize(6)
                .map(words -> String.join(".", words));
    }

    @Property(tries = 3000)
    void shouldMatchExactlyWhatTheRegexMatcherMatches(
            @ForAll("patterns") List<String> patterns, @ForAll("keys") String key) {
        List<Binding> bindings = new ArrayList<>();
        for (int i = 0; i < patterns.size(); i++) {
            bindings.add(new Binding(EXCHANGE, "dest" + i, patterns.get(i), Map.of()));
        }
        Set<Object> matched = new HashSet<>();
        TopicTrie.build(bindings).match(key, matched::add);

        Set<Object> expected = new HashSet<>();
        for (int i = 0; i < patterns.size(); i++) {
            if (regexMatches(patterns.get(i), key)) {
                expected.add("dest" + i);
            }
        }
        assertThat(matched).as("key '%s' against %s", key, patterns).isEqualTo(expected);
    }

    @Property(tries = 500)
    void shouldSplitKeysIntoWordsLikeRabbitMq(@ForAll("keys") String key) {
        TopicTrie.Words words = new TopicTrie.Words().split(key);
        List<String> split = new ArrayList<>();
        for (int i = 0; i < words.count(); i++) {
            split.add(words.word(i));
        }
        assertThat(split).isEqualTo(words(key));
    }

    @ParameterizedTest(name = "''{0}'' matches ''{1}'': {2}")
    @CsvSource(
            delimiter = '|',
            emptyValue = "",
            textBlock =
                    """
            # RabbitMQ tutorial 5
            *.orange.*  | quick.orange.rabbit      | true
            *.*.rabbit  | quick.orange.rabbit      | true
            lazy.#      | lazy.orange.elephant     | true
            *.orange.*  | quick.orange.fox         | true
            lazy.#      | lazy.brown.fox           | true
            *.orange.*  | quick.brown.fox          | false
            *.orange.*  | orange                   | false
            *.orange.*  | quick.orange.male.rabbit | false
            lazy.#      | lazy.orange.male.rabbit  | true
            lazy.#      | lazy                     | true
            # the empty key has no words
            '#'           | ''                       | true
            ''          | ''                       | true
            *           | ''                       | false
            '#.*'         | ''                       | false
            ''          | a                        | false
            # empty words are words
            a.*.b       | a..b                     | true
            a.#.b       | a..b                     | true
            *           | .                        | false
            *.*         | .                        | true
            a.*         | a.                       | true
            a.#         | a.                       | true
            # hashes
            '#.#'         | a.b.c                    | true
            '#.a.#'       | a                        | true
            '#.a.#'       | b.a.c                    | true
            '#.a.#'       | b.c                      | false
            a.#.#.b     | a.b                      | true
            '#.*.#'       | ''                       | false
            '#.*.#'       | x                        | true
            # literal words are compared whole
            ab          | a                        | false
            a           | ab                       | false
            """)
    void shouldMatchRabbitMqsExamples(String pattern, String key, boolean matches) {
        String p = pattern.equals("''") ? "" : pattern;
        String k = key.equals("''") ? "" : key;
        Set<Object> matched = new HashSet<>();
        TopicTrie.build(List.of(new Binding(EXCHANGE, "q", p, Map.of()))).match(k, matched::add);
        assertThat(matched.contains("q")).isEqualTo(matches);
        assertThat(regexMatches(p, k)).as("the reference matcher agrees").isEqualTo(matches);
    }

    /** RabbitMQ's split: on '.', keeping empty words, except that "" has no words at all. */
    static List<String> words(String key) {
        return key.isEmpty() ? List.of() : List.of(key.split("\\.", -1));
    }

    /**
     * Reference matcher: each word of the key becomes "word;" and the pattern a regex over that,
     * where '*' is one "[^;]*;" and '#' is any number of them.
     */
    static boolean regexMatches(String pattern, String key) {
        StringBuilder regex = new StringBuilder();
        for (String word : words(pattern)) {
            switch (word) {
                case "*" -> regex.append("[^;]*;");
                case "#" -> regex.append("(?:[^;]*;)*");
                default -> regex.append(Pattern.quote(word)).append(';');
            }
        }
        StringBuilder subject = new StringBuilder();
        for (String word : words(key)) {
            subject.append(word).append(';');
        }
        return Pattern.compile(regex.toString()).matcher(subject).matches();
    }
}
