package dev.courier.cluster.fifo;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;

/** The hand-made structures behave like the JDK collections they replace, under random operations. */
class MessageIndexesTest {
    @Property(tries = 200)
    void shouldFindRemoveAndShrinkLikeAHashMap(@ForAll long seed) {
        Random random = new Random(seed);
        UnackedIndex index = new UnackedIndex();
        Map<Long, QueuedMessage> model = new HashMap<>();
        for (int step = 0; step < 2_000; step++) {
            long id = random.nextInt(step < 1_000 ? 600 : 60) + (random.nextBoolean() ? 0 : 1L << 40);
            QueuedMessage present = model.get(id);
            if (present == null && random.nextInt(3) > 0) {
                QueuedMessage message = new QueuedMessage(id, new byte[0], QueuedMessage.NO_EXPIRY, 0);
                index.put(message);
                model.put(id, message);
            } else if (present != null) {
                index.remove(present);
                model.remove(id);
            }
            assertThat(index.get(id)).isSameAs(model.get(id));
            assertThat(index.size()).isEqualTo(model.size());
        }
        for (Map.Entry<Long, QueuedMessage> e : model.entrySet()) {
            assertThat(index.get(e.getKey())).isSameAs(e.getValue());
        }
    }

    @Property(tries = 200)
    void shouldYieldMessagesByExpiryThenIdWhateverIsRemovedFromTheMiddle(@ForAll long seed) {
        Random random = new Random(seed);
        ExpiryIndex index = new ExpiryIndex();
        Comparator<QueuedMessage> order =
                Comparator.<QueuedMessage>comparingLong(m -> m.expiresAt).thenComparingLong(m -> m.id);
        TreeSet<QueuedMessage> model = new TreeSet<>(order);
        List<QueuedMessage> live = new ArrayList<>();
        long nextId = 1;
        for (int step = 0; step < 1_000; step++) {
            int roll = random.nextInt(10);
            if (roll < 5) {
                QueuedMessage message = new QueuedMessage(nextId++, new byte[0], random.nextInt(50), 0);
                index.add(message);
                model.add(message);
                live.add(message);
            } else if (roll < 8 && !live.isEmpty()) {
                QueuedMessage message = live.remove(random.nextInt(live.size()));
                index.remove(message);
                model.remove(message);
                assertThat(message.heapIndex).isEqualTo(-1);
            } else if (!model.isEmpty()) {
                QueuedMessage first = index.peek();
                assertThat(first).isSameAs(model.first());
                index.remove(first);
                model.remove(first);
                live.remove(first);
            }
            assertThat(index.size()).isEqualTo(model.size());
            assertThat(index.peek()).isSameAs(model.isEmpty() ? null : model.first());
        }
    }

    @Property(tries = 100)
    void shouldServeReturnsThenHighestLevelFifoAndRemoveFromAnywhere(@ForAll long seed) {
        Random random = new Random(seed);
        ReadyMessages ready = new ReadyMessages(255);
        Deque<QueuedMessage> returns = new ArrayDeque<>();
        List<Deque<QueuedMessage>> levels = new ArrayList<>();
        for (int i = 0; i < 256; i++) {
            levels.add(new ArrayDeque<>());
        }
        List<QueuedMessage> all = new ArrayList<>();
        long nextId = 1;
        for (int step = 0; step < 1_000; step++) {
            int roll = random.nextInt(10);
            if (roll < 4) {
                int level = random.nextInt(4) == 0 ? random.nextInt(256) : random.nextInt(3) * 64 + 63;
                QueuedMessage m = new QueuedMessage(nextId++, new byte[level % 7], QueuedMessage.NO_EXPIRY, level);
                ready.add(m);
                levels.get(level).addLast(m);
                all.add(m);
            } else if (roll < 5) {
                QueuedMessage m = new QueuedMessage(nextId++, new byte[3], QueuedMessage.NO_EXPIRY, 0);
                ready.addReturn(m);
                returns.addLast(m);
                all.add(m);
            } else if (roll < 7 && !all.isEmpty()) {
                QueuedMessage m = all.remove(random.nextInt(all.size()));
                ready.remove(m);
                returns.remove(m);
                levels.get(m.level()).remove(m);
            } else {
                QueuedMessage expected = returns.pollFirst();
                for (int level = 255; expected == null && level >= 0; level--) {
                    expected = levels.get(level).pollFirst();
                }
                assertThat(ready.poll()).isSameAs(expected);
                all.remove(expected);
            }
            assertThat(ready.count()).isEqualTo(all.size());
            assertThat(ready.bytes())
                    .isEqualTo(all.stream().mapToLong(m -> m.body.length).sum());
        }
    }
}
