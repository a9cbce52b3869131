package dev.courier.broker;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class HeadersMatchTest {
    @Test
    void shouldRequireEveryHeaderWithAllAndOneWithAny() {
        Map<String, Object> all = Map.of("x-match", "all", "a", 1, "b", "two");
        Map<String, Object> any = Map.of("x-match", "any", "a", 1, "b", "two");
        assertThat(HeadersExchange.matches(all, Map.of("a", 1, "b", "two", "c", true)))
                .isTrue();
        assertThat(HeadersExchange.matches(all, Map.of("a", 1))).isFalse();
        assertThat(HeadersExchange.matches(any, Map.of("a", 1))).isTrue();
        assertThat(HeadersExchange.matches(any, Map.of("c", 1))).isFalse();
    }

    @Test
    void shouldCompareIntegersAcrossWidthsAndIgnoreXKeysUnlessWithX() {
        assertThat(HeadersExchange.matches(Map.of("a", 1), Map.of("a", 1L))).isTrue();
        assertThat(HeadersExchange.matches(Map.of("x-k", 1), Map.of())).isTrue();
        assertThat(HeadersExchange.matches(Map.of("x-match", "all-with-x", "x-k", 1), Map.of()))
                .isFalse();
        assertThat(HeadersExchange.matches(Map.of("x-match", "any-with-x", "x-k", 1), Map.of("x-k", 1)))
                .isTrue();
    }

    @Test
    void shouldMatchVoidValuesOnPresence() {
        Map<String, Object> presence = new HashMap<>();
        presence.put("flag", null);
        assertThat(HeadersExchange.matches(presence, Map.of("flag", "anything")))
                .isTrue();
        assertThat(HeadersExchange.matches(presence, Map.of("other", 1))).isFalse();
    }

    @Test
    void shouldMatchEverythingWithNoCriteriaUnderAllAndNothingUnderAny() {
        assertThat(HeadersExchange.matches(Map.of(), Map.of("a", 1))).isTrue();
        assertThat(HeadersExchange.matches(Map.of("x-match", "any"), Map.of("a", 1)))
                .isFalse();
    }
}
