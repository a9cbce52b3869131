package dev.courier.broker;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Headers-exchange matching, checked case by case against RabbitMQ 3.10.8 on this machine. */
class HeadersMatchTest {
    @Test
    void shouldRequireEveryHeaderWithAllAndOneWithAny() {
        Map<String, Object> all = Map.of("x-match", "all", "a", 1, "b", "two");
        Map<String, Object> any = Map.of("x-match", "any", "a", 1, "b", "two");
        assertThat(HeadersExchange.matches(all, Map.of("a", 1, "b", "two", "c", true)))
                .isTrue();
        assertThat(HeadersExchange.matches(all, Map.of("a", 1))).isFalse();
        assertThat(HeadersExchange.matches(Map.of("a", 1, "b", "two"), Map.of("a", 1)))
                .as("all is the default")
                .isFalse();
        assertThat(HeadersExchange.matches(any, Map.of("a", 1))).isTrue();
        assertThat(HeadersExchange.matches(any, Map.of("c", 1))).isFalse();
        assertThat(HeadersExchange.matches(any, Map.of("a", 2, "b", "three"))).isFalse();
    }

    @Test
    void shouldCompareNumbersByValueAndEverythingElseByTypeAndValue() {
        assertThat(HeadersExchange.matches(Map.of("n", 1), Map.of("n", 1L))).isTrue();
        assertThat(HeadersExchange.matches(Map.of("n", 1), Map.of("n", 1.0))).isTrue();
        assertThat(HeadersExchange.matches(Map.of("n", (short) 7), Map.of("n", (byte) 7)))
                .isTrue();
        assertThat(HeadersExchange.matches(Map.of("f", 1.5f), Map.of("f", 1.5d)))
                .isTrue();
        assertThat(HeadersExchange.matches(Map.of("n", 1), Map.of("n", 2L))).isFalse();
        assertThat(HeadersExchange.matches(Map.of("n", 1), Map.of("n", "1"))).isFalse();
        assertThat(HeadersExchange.matches(Map.of("b", true), Map.of("b", 1))).isFalse();
        assertThat(HeadersExchange.matches(Map.of("s", "v"), Map.of("s", "v"))).isTrue();
        assertThat(HeadersExchange.matches(Map.of("t", Map.of("a", 1)), Map.of("t", Map.of("a", 1L))))
                .as("nested tables compare their typed values")
                .isFalse();
        assertThat(HeadersExchange.matches(Map.of("l", List.of("x")), Map.of("l", List.of("x"))))
                .isTrue();
        assertThat(HeadersExchange.matches(Map.of("bytes", new byte[] {1, 2}), Map.of("bytes", new byte[] {1, 2})))
                .isTrue();
    }

    @Test
    void shouldIgnoreXKeysUnlessTheModeIsWithX() {
        assertThat(HeadersExchange.matches(Map.of("x-k", 1), Map.of())).isTrue();
        assertThat(HeadersExchange.matches(Map.of("x-match", "any", "x-k", "v"), Map.of("x-k", "v")))
                .isFalse();
        assertThat(HeadersExchange.matches(Map.of("x-match", "all-with-x", "x-k", 1), Map.of()))
                .isFalse();
        assertThat(HeadersExchange.matches(Map.of("x-match", "all-with-x", "x-k", 1), Map.of("x-k", 1)))
                .isTrue();
        assertThat(HeadersExchange.matches(Map.of("x-match", "any-with-x", "x-k", "v"), Map.of("x-k", "v")))
                .isTrue();
    }

    @Test
    void shouldMatchVoidValuesOnPresence() {
        Map<String, Object> presence = new HashMap<>();
        presence.put("flag", null);
        assertThat(HeadersExchange.matches(presence, Map.of("flag", "anything")))
                .isTrue();
        assertThat(HeadersExchange.matches(presence, Map.of("other", 1))).isFalse();
        Map<String, Object> voidHeader = new HashMap<>();
        voidHeader.put("flag", null);
        assertThat(HeadersExchange.matches(presence, voidHeader)).isTrue();
    }

    @Test
    void shouldMatchEverythingWithNoCriteriaUnderAllAndNothingUnderAny() {
        assertThat(HeadersExchange.matches(Map.of(), Map.of("a", 1))).isTrue();
        assertThat(HeadersExchange.matches(Map.of("x-match", "all"), Map.of())).isTrue();
        assertThat(HeadersExchange.matches(Map.of("x-match", "any"), Map.of("a", 1)))
                .isFalse();
    }
}
