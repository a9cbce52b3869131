package dev.courier.store;

import static dev.courier.store.TestMessages.assertReadable;
import static dev.courier.store.TestMessages.await;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import java.util.stream.Stream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.lifecycle.AfterTry;
import net.jqwik.api.lifecycle.BeforeTry;

/**
 * Random sequences of publishes, removals, redelivery marks, enqueues, purges, transactions (a
 * unit of publishes and removals, all recovered or none), checkpoints, clean
 * reopens and crashes whose last segment is then cut at a random byte. After every recovery the
 * store must hold exactly what the records that were durable before the cut describe: every
 * message whose publish completed before the cut is there, in order, with its flags and body;
 * every message removed before the cut is gone; no exception.
 */
class RecoveryPropertyTest {
    private static final List<String> QUEUES = List.of("q0", "q1", "q2");
    private static final StoreConfig CONFIG = StoreConfig.defaults()
            .withSegmentSizeBytes(64 * 1024)
            .withCheckpointIntervalBytes(0)
            .withCompactionLiveRatio(0);

    sealed interface Action {}

    record Publish(int queue, int extraQueue, int sizeBytes) implements Action {}

    record Remove(int pick) implements Action {}

    record Deliver(int pick) implements Action {}

    record Enqueue(int pick, int queue) implements Action {}

    record Purge(int queue) implements Action {}

    record Checkpoint() implements Action {}

    /** A transaction: {@code publishes} messages to one queue and up to two removals, as one unit. */
    record Transact(int queue, int publishes, int sizeBytes, int pick1, int pick2) implements Action {}

    record Reopen() implements Action {}

    record Crash(double cutFraction) implements Action {}

    @Provide
    Arbitrary<List<Action>> scenarios() {
        Arbitrary<Integer> queue = Arbitraries.integers().between(0, QUEUES.size() - 1);
        Arbitrary<Integer> pick = Arbitraries.integers().between(0, 10_000);
        Arbitrary<Action> publish = Combinators.combine(
                        queue,
                        Arbitraries.integers().between(0, QUEUES.size() * 3),
                        Arbitraries.integers().between(0, 3000))
                .as(Publish::new);
        return Arbitraries.frequencyOf(
                        Tuple.of(12, publish),
                        Tuple.of(5, pick.map(Remove::new)),
                        Tuple.of(2, pick.map(Deliver::new)),
                        Tuple.of(1, Combinators.combine(pick, queue).as(Enqueue::new)),
                        Tuple.of(
                                3,
                                Combinators.combine(
                                                queue,
                                                Arbitraries.integers().between(0, 3),
                                                Arbitraries.integers().between(0, 2000),
                                                pick,
                                                pick)
                                        .as(Transact::new)),
                        Tuple.of(1, queue.map(Purge::new)),
                        Tuple.of(1, Arbitraries.just(new Checkpoint())),
                        Tuple.of(1, Arbitraries.just(new Reopen())),
                        Tuple.of(2, Arbitraries.doubles().between(0, 1).map(Crash::new)))
                .list()
                .ofMinSize(5)
                .ofMaxSize(70);
    }

    /** Queue name to ordered message ids and their redelivered flags. */
    static final class Model {
        final Map<String, LinkedHashMap<Long, Boolean>> queues = new HashMap<>();

        Model copy() {
            Model copy = new Model();
            queues.forEach((name, entries) -> copy.queues.put(name, new LinkedHashMap<>(entries)));
            return copy;
        }

        LinkedHashMap<Long, Boolean> queue(String name) {
            return queues.computeIfAbsent(name, n -> new LinkedHashMap<>());
        }

        /** Every (queue, id) entry in a stable order, for picking one at random. */
        List<Map.Entry<String, Long>> entries() {
            List<Map.Entry<String, Long>> entries = new ArrayList<>();
            for (String name : QUEUES) {
                for (long id : queue(name).keySet()) {
                    entries.add(Map.entry(name, id));
                }
            }
            return entries;
        }

        Set<Long> liveIds() {
            Set<Long> ids = new HashSet<>();
            queues.values().forEach(q -> ids.addAll(q.keySet()));
            return ids;
        }
    }

    /** A change to the model and the log position its record ends at. */
    record Durable(Consumer<Model> effect, long endPosition) {}

    private Path root;
    private int generation;

    @BeforeTry
    void createRoot() throws IOException {
        root = Files.createTempDirectory("store-property");
        generation = 0;
    }

    @AfterTry
    void deleteRoot() throws IOException {
        try (Stream<Path> files = Files.walk(root)) {
            for (Path path : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        }
    }

    @Property(tries = 40)
    void recoveryKeepsExactlyTheRecordsThatWereDurableBeforeTheCut(@ForAll("scenarios") List<Action> actions)
            throws IOException {
        Path dir = root.resolve("gen-" + generation++);
        Model recovered = new Model();
        Model current = new Model();
        List<Durable> sinceRecovery = new ArrayList<>();
        Map<Long, Integer> sizes = new HashMap<>();
        long nextId = 0;
        long checkpointPosition = -1;
        MessageStore store = MessageStore.open(dir, CONFIG);
        try {
            for (Action action : actions) {
                if (action instanceof Reopen || action instanceof Crash) {
                    Path next = dir;
                    Model expected = recovered.copy();
                    if (action instanceof Crash crash) {
                        next = root.resolve("gen-" + generation++);
                        CrashImage.copy(store, next);
                        long cut = cutLastSegment(next, crash.cutFraction(), checkpointPosition);
                        for (Durable d : sinceRecovery) {
                            if (d.endPosition() <= cut) {
                                d.effect().accept(expected);
                            }
                        }
                    } else {
                        sinceRecovery.forEach(d -> d.effect().accept(expected));
                    }
                    store.close();
                    dir = next;
                    store = MessageStore.open(dir, CONFIG);
                    assertThat(store.recoveryReport().corruptRegions()).isEmpty();
                    assertMatches(store, expected, sizes);
                    recovered = expected;
                    current = expected.copy();
                    sinceRecovery.clear();
                    checkpointPosition = -1;
                    continue;
                }
                Consumer<Model> effect;
                CompletableFuture<Void> future;
                if (action instanceof Publish p) {
                    long id = nextId++;
                    String first = QUEUES.get(p.queue());
                    List<StoreQueue> targets = new ArrayList<>();
                    targets.add(store.queue(first));
                    String second = p.extraQueue() < QUEUES.size() && p.extraQueue() != p.queue()
                            ? QUEUES.get(p.extraQueue())
                            : null;
                    if (second != null) {
                        targets.add(store.queue(second));
                    }
                    sizes.put(id, p.sizeBytes());
                    future = TestMessages.publish(store, id, p.sizeBytes(), targets.toArray(new StoreQueue[0]));
                    effect = m -> {
                        m.queue(first).put(id, false);
                        if (second != null) {
                            m.queue(second).put(id, false);
                        }
                    };
                } else if (action instanceof Transact t) {
                    StoreTransaction tx = new StoreTransaction();
                    String name = QUEUES.get(t.queue());
                    List<Long> published = new ArrayList<>();
                    for (int i = 0; i < t.publishes(); i++) {
                        long id = nextId++;
                        sizes.put(id, t.sizeBytes());
                        var header = TestMessages.header(id);
                        var body = TestMessages.body(id, t.sizeBytes());
                        tx.publish(id, 0, header, body, List.of(store.queue(name)));
                        header.release();
                        body.release();
                        published.add(id);
                    }
                    List<Map.Entry<String, Long>> entries = current.entries();
                    Set<Map.Entry<String, Long>> removed = new HashSet<>();
                    for (int pick : new int[] {t.pick1(), t.pick2()}) {
                        if (!entries.isEmpty()) {
                            removed.add(entries.get(pick % entries.size()));
                        }
                    }
                    for (Map.Entry<String, Long> e : removed) {
                        tx.remove(store.queue(e.getKey()), e.getValue());
                    }
                    future = store.commit(tx);
                    effect = m -> {
                        published.forEach(id -> m.queue(name).put(id, false));
                        removed.forEach(e -> m.queue(e.getKey()).remove(e.getValue()));
                    };
                } else if (action instanceof Checkpoint) {
                    future = store.checkpoint();
                    effect = m -> {};
                } else if (action instanceof Purge purge) {
                    String name = QUEUES.get(purge.queue());
                    future = store.purgeQueue(store.queue(name));
                    effect = m -> m.queue(name).clear();
                } else {
                    List<Map.Entry<String, Long>> entries = current.entries();
                    if (entries.isEmpty()) {
                        continue;
                    }
                    if (action instanceof Remove r) {
                        Map.Entry<String, Long> e = entries.get(r.pick() % entries.size());
                        future = store.remove(store.queue(e.getKey()), e.getValue());
                        effect = m -> m.queue(e.getKey()).remove(e.getValue());
                    } else if (action instanceof Deliver d) {
                        Map.Entry<String, Long> e = entries.get(d.pick() % entries.size());
                        future = store.markDelivered(store.queue(e.getKey()), e.getValue());
                        effect = m -> m.queue(e.getKey()).computeIfPresent(e.getValue(), (k, v) -> true);
                    } else {
                        Enqueue en = (Enqueue) action;
                        long id = entries.get(en.pick() % entries.size()).getValue();
                        String name = QUEUES.get(en.queue());
                        future = store.enqueue(store.queue(name), id);
                        effect = m -> m.queue(name).putIfAbsent(id, false);
                    }
                }
                await(future);
                long end = store.appliedPosition();
                if (action instanceof Checkpoint) {
                    checkpointPosition = end;
                }
                effect.accept(current);
                sinceRecovery.add(new Durable(effect, end));
            }
        } finally {
            store.close();
        }
    }

    /**
     * Cuts the last segment at a random byte; returns the cut as a log position. A cut never goes
     * behind a checkpoint in the same segment: the store fsyncs the log before writing a checkpoint,
     * so a crash cannot lose what a checkpoint describes.
     */
    private static long cutLastSegment(Path dir, double fraction, long checkpointPosition) throws IOException {
        Map.Entry<Long, Path> last = CrashImage.segments(dir).lastEntry();
        long size = Files.size(last.getValue());
        long lowest = RecordFormat.segmentOf(checkpointPosition) == last.getKey()
                ? RecordFormat.offsetOf(checkpointPosition)
                : 0;
        long cut = lowest + (long) Math.floor(fraction * (size - lowest));
        CrashImage.truncate(last.getValue(), cut);
        return RecordFormat.location(last.getKey(), cut);
    }

    private static void assertMatches(MessageStore store, Model expected, Map<Long, Integer> sizes) {
        RecoveredState state = store.recovered();
        for (String name : QUEUES) {
            RecoveredQueue queue = state.queues().get(name);
            List<Long> ids = queue == null ? List.of() : TestMessages.ids(queue);
            List<Long> redelivered = queue == null ? List.of() : TestMessages.redeliveredIds(queue);
            LinkedHashMap<Long, Boolean> model = expected.queue(name);
            assertThat(ids).as("queue %s", name).containsExactlyElementsOf(model.keySet());
            assertThat(redelivered)
                    .as("redelivered in %s", name)
                    .containsExactlyElementsOf(model.entrySet().stream()
                            .filter(Map.Entry::getValue)
                            .map(Map.Entry::getKey)
                            .toList());
        }
        Set<Long> live = expected.liveIds();
        assertThat(store.recoveryReport().messages()).isEqualTo(live.size());
        for (long id : live) {
            assertReadable(store, id, sizes.get(id));
        }
    }
}
