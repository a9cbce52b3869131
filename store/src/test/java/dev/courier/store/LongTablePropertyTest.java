package dev.courier.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/** The primitive hash tables behave like a HashMap under random inserts and removals. */
class LongTablePropertyTest {
    /** Insert (or overwrite) when {@code insert}, else remove; ids are clustered to force collisions. */
    record Op(boolean insert, long id, int queue) {}

    @Provide
    Arbitrary<List<Op>> ops() {
        Arbitrary<Long> ids = Arbitraries.oneOf(
                Arbitraries.longs().between(0, 3000),
                Arbitraries.longs().between(0, 40).map(i -> i * 1024),
                Arbitraries.longs().between(0, Long.MAX_VALUE - 1));
        return Combinators.combine(
                        Arbitraries.of(true, true, false),
                        ids,
                        Arbitraries.integers().between(1, 4))
                .as(Op::new)
                .list()
                .ofMaxSize(4000);
    }

    @Property(tries = 60)
    void messageIndexMatchesAHashMap(@ForAll("ops") List<Op> ops) {
        MessageIndex index = new MessageIndex();
        Map<Long, Long> model = new HashMap<>();
        for (Op op : ops) {
            int slot = index.find(op.id());
            if (op.insert()) {
                if (slot < 0) {
                    slot = index.insert(op.id());
                }
                index.setLocation(slot, op.id() ^ 0x5555, op.queue());
                model.put(op.id(), op.id() ^ 0x5555);
            } else if (slot >= 0) {
                index.removeAt(slot);
                model.remove(op.id());
            }
        }
        assertThat(index.size()).isEqualTo(model.size());
        for (Map.Entry<Long, Long> e : model.entrySet()) {
            int slot = index.find(e.getKey());
            assertThat(slot).isNotNegative();
            assertThat(index.location(slot)).isEqualTo(e.getValue());
        }
        for (Op op : ops) {
            assertThat(index.find(op.id()) >= 0).isEqualTo(model.containsKey(op.id()));
        }
    }

    @Property(tries = 60)
    void queueEntryIndexMatchesAHashMap(@ForAll("ops") List<Op> ops) {
        QueueEntryIndex index = new QueueEntryIndex();
        Map<List<Long>, Boolean> model = new HashMap<>();
        for (Op op : ops) {
            List<Long> key = List.of(op.id(), (long) op.queue());
            int slot = index.find(op.id(), op.queue());
            if (op.insert()) {
                if (slot < 0) {
                    index.insert(op.id(), op.queue(), 7, false);
                    model.put(key, true);
                }
            } else if (slot >= 0) {
                index.removeAt(slot);
                model.remove(key);
            }
        }
        assertThat(index.size()).isEqualTo(model.size());
        for (List<Long> key : model.keySet()) {
            assertThat(index.find(key.get(0), key.get(1).intValue())).isNotNegative();
        }
        for (Op op : ops) {
            boolean present = model.containsKey(List.of(op.id(), (long) op.queue()));
            assertThat(index.find(op.id(), op.queue()) >= 0).isEqualTo(present);
        }
    }
}
