package dev.courier.server.amqp;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class UnackedWindowTest {
    private static UnackedWindow.Entry entry(long id) {
        return new UnackedWindow.Entry(null, id, null, 0);
    }

    @Test
    void shouldAssignDenseTagsAndSettleSingleAndMultiple() {
        UnackedWindow window = new UnackedWindow();
        for (int i = 1; i <= 5; i++) {
            assertThat(window.add(entry(i * 10))).isEqualTo(i);
        }
        assertThat(window.remove(3).entryId()).isEqualTo(30);
        assertThat(window.remove(3)).isNull();
        List<Long> settled = new ArrayList<>();
        window.removeUpTo(4, e -> settled.add(e.entryId()));
        assertThat(settled).containsExactly(10L, 20L, 40L);
        assertThat(window.size()).isEqualTo(1);
        assertThat(window.contains(5)).isTrue();
        assertThat(window.contains(6)).isFalse();
    }

    @Test
    void shouldSkipTagsOfAutoAckDeliveries() {
        UnackedWindow window = new UnackedWindow();
        assertThat(window.skip()).isEqualTo(1);
        assertThat(window.add(entry(7))).isEqualTo(2);
        assertThat(window.skip()).isEqualTo(3);
        assertThat(window.contains(1)).isFalse();
        assertThat(window.contains(3)).isFalse();
        assertThat(window.remove(2).entryId()).isEqualTo(7);
    }

    @Test
    void shouldGrowAndKeepOrderAcrossTheRing() {
        UnackedWindow window = new UnackedWindow();
        for (int i = 1; i <= 1000; i++) {
            window.add(entry(i));
            if (i % 3 == 0) {
                window.remove(i - 1);
            }
        }
        List<Long> all = new ArrayList<>();
        window.removeAll(e -> all.add(e.entryId()));
        assertThat(all).hasSize(1000 - 333).isSorted();
        assertThat(window.size()).isZero();
    }
}
