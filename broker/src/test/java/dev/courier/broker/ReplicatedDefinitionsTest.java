package dev.courier.broker;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Equal bindings get one metadata key whatever order their arguments came in. */
class ReplicatedDefinitionsTest {
    private final HeadersExchange exchange = new HeadersExchange("h", true, false, false, Map.of());
    private final FanoutExchange destination = new FanoutExchange("d", true, false, false, Map.of());

    @Test
    void shouldSpellEqualArgumentsInAnyOrderAsOneBindingKey() {
        Map<String, Object> first =
                table("x-match", "all", "nested", table("b", 2, "a", 1), "list", List.of(table("d", 4, "c", 3)));
        Map<String, Object> second =
                table("list", List.of(table("c", 3, "d", 4)), "nested", table("a", 1, "b", 2), "x-match", "all");
        Binding one = new Binding(exchange, destination, "", first);
        Binding other = new Binding(exchange, destination, "", second);
        assertThat(one.arguments()).isEqualTo(other.arguments());

        assertThat(ReplicatedDefinitions.bindingKey("/", one)).isEqualTo(ReplicatedDefinitions.bindingKey("/", other));
    }

    @Test
    void shouldKeepDifferentArgumentsApart() {
        Binding one = new Binding(exchange, destination, "", table("x-match", "all", "a", table("k", 1)));
        Binding other = new Binding(exchange, destination, "", table("x-match", "all", "a", table("k", 2)));

        assertThat(ReplicatedDefinitions.bindingKey("/", one))
                .isNotEqualTo(ReplicatedDefinitions.bindingKey("/", other));
    }

    private static Map<String, Object> table(Object... keysAndValues) {
        Map<String, Object> table = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            table.put((String) keysAndValues[i], keysAndValues[i + 1]);
        }
        return table;
    }
}
