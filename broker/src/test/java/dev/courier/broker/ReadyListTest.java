package dev.courier.broker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.courier.broker.ReadyList.Entry;
import dev.courier.protocol.BasicProperties;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The ready list alone: priority levels, requeue positions, counts and bytes, expiry without scans. */
class ReadyListTest {
    private final TestMessages messages = new TestMessages();
    private final List<Entry> created = new ArrayList<>();
    private long nextId = 1;

    @AfterEach
    void releaseAndCheckForLeaks() {
        for (Entry entry : created) {
            entry.message.release();
        }
        messages.assertAllReleased();
    }

    /** An entry whose body is {@code body}, with no TTL of its own. */
    private Entry entry(String body, int priority, long expiresAtMs) {
        return track(new Entry(nextId++, messages.create(body), priority, expiresAtMs));
    }

    /** An entry whose message carries an expiration property (a per-message TTL). */
    private Entry expiringEntry(String body, int priority, long expiresAtMs) {
        Message message = messages.create("", "", BasicProperties.EMPTY.withExpiration("1000"), body);
        return track(new Entry(nextId++, message, priority, expiresAtMs));
    }

    private Entry track(Entry entry) {
        created.add(entry);
        return entry;
    }

    private static String body(Entry entry) {
        return entry.message.body().toString(java.nio.charset.StandardCharsets.UTF_8);
    }

    private static List<String> drain(ReadyList ready) {
        List<String> bodies = new ArrayList<>();
        Entry entry;
        while ((entry = ready.poll()) != null) {
            bodies.add(body(entry));
        }
        return bodies;
    }

    private static List<String> expire(ReadyList ready, long nowMs) {
        List<String> bodies = new ArrayList<>();
        ready.removeExpired(nowMs, entry -> bodies.add(body(entry)));
        return bodies;
    }

    @Test
    void shouldPollHighestLevelFirstAndFifoWithinALevel() {
        ReadyList ready = new ReadyList(255);
        int[] priorities = {0, 255, 3, 255, 0, 64, 3, 63, 128};
        for (int i = 0; i < priorities.length; i++) {
            ready.add(entry(priorities[i] + "-" + i, priorities[i], 0));
        }
        assertThat(ready.peek()).isNotNull();
        assertThat(body(ready.peek())).isEqualTo("255-1");
        assertThat(drain(ready)).containsExactly("255-1", "255-3", "128-8", "64-5", "63-7", "3-2", "3-6", "0-0", "0-4");
        assertThat(ready.peek()).isNull();
        assertThat(ready.poll()).isNull();
    }

    @Test
    void shouldCapPrioritiesAboveTheMaximumAtTheTopLevel() {
        ReadyList ready = new ReadyList(9);
        assertThat(ready.levelOf(null)).isZero();
        assertThat(ready.levelOf(-1)).isZero();
        assertThat(ready.levelOf(5)).isEqualTo(5);
        assertThat(ready.levelOf(200)).isEqualTo(9);
        assertThat(new ReadyList(0).levelOf(7)).isZero();
    }

    @Test
    void shouldPutRequeuedEntriesBackAtTheirOriginalPositionWithinTheirLevel() {
        ReadyList ready = new ReadyList(2);
        for (int i = 0; i < 5; i++) {
            ready.add(entry("low" + i, 0, 0));
            ready.add(entry("high" + i, 2, 0));
        }
        List<Entry> taken = new ArrayList<>();
        for (int i = 0; i < 7; i++) { // high0..high4, low0, low1
            taken.add(ready.poll());
        }
        ready.add(entry("high5", 2, 0));
        ready.add(entry("low5", 0, 0));
        // requeued out of order, the way a client's nacks may arrive
        ready.addReturned(taken.get(6)); // low1
        ready.addReturned(taken.get(3)); // high3
        ready.addReturned(taken.get(0)); // high0
        ready.addReturned(taken.get(5)); // low0
        assertThat(drain(ready))
                .containsExactly("high0", "high3", "high5", "low0", "low1", "low2", "low3", "low4", "low5");
    }

    @Test
    void shouldCountEntriesBytesAndResidentMessages() {
        ReadyList ready = new ReadyList(1);
        Entry a = entry("12345", 0, 0);
        Entry b = entry("1234567890", 1, 0);
        Entry c = entry("", 0, 0);
        ready.add(a);
        ready.add(b);
        ready.add(c);
        assertThat(ready.size()).isEqualTo(3);
        assertThat(ready.bytes()).isEqualTo(15);
        assertThat(ready.resident()).isEqualTo(3);

        assertThat(ready.poll()).isSameAs(b);
        assertThat(b.ready).isFalse();
        assertThat(ready.size()).isEqualTo(2);
        assertThat(ready.bytes()).isEqualTo(5);
        ready.addReturned(b);
        assertThat(b.ready).isTrue();
        assertThat(ready.bytes()).isEqualTo(15);

        Message kept = c.message.retain(); // paging out releases the list's reference
        ready.pagedOut(c);
        assertThat(ready.resident()).isEqualTo(2);
        assertThat(ready.size()).isEqualTo(3);
        c.message = kept;
        ready.pagedIn();
        assertThat(ready.resident()).isEqualTo(3);

        drain(ready);
        assertThat(ready.size()).isZero();
        assertThat(ready.bytes()).isZero();
        assertThat(ready.resident()).isZero();
    }

    @Test
    void shouldExpireQueueTtlEntriesAtEachLevelsHead() {
        ReadyList ready = new ReadyList(1);
        // x-message-ttl 100: entries added at 0, 10, 20, ... expire in the order they came
        for (int i = 0; i < 6; i++) {
            ready.add(entry("m" + i, i % 2, i * 10 + 100L));
        }
        assertThat(ready.earliestExpiry()).isEqualTo(100);
        assertThat(expire(ready, 99)).isEmpty();
        assertThat(expire(ready, 125)).containsExactlyInAnyOrder("m0", "m1", "m2");
        assertThat(ready.size()).isEqualTo(3);
        assertThat(ready.bytes()).isEqualTo(6);
        assertThat(ready.earliestExpiry()).isEqualTo(130);
        assertThat(drain(ready)).containsExactly("m3", "m5", "m4");
        assertThat(ready.earliestExpiry()).isZero();
    }

    @Test
    void shouldExpireARequeuedQueueTtlEntryAtItsOriginalPosition() {
        ReadyList ready = new ReadyList(0);
        ready.add(entry("m0", 0, 100));
        ready.add(entry("m1", 0, 110));
        ready.add(entry("m2", 0, 120));
        Entry first = ready.poll();
        ready.addReturned(first);
        assertThat(ready.earliestExpiry()).isEqualTo(100);
        assertThat(expire(ready, 110)).containsExactly("m0", "m1");
        assertThat(drain(ready)).containsExactly("m2");
    }

    @Test
    void shouldExpirePerMessageTtlsBehindTheHeadInPlace() {
        ReadyList ready = new ReadyList(0);
        ready.add(entry("forever", 0, 0));
        ready.add(expiringEntry("soon", 0, 50));
        ready.add(entry("forever too", 0, 0));
        ready.add(expiringEntry("later", 0, 80));
        assertThat(ready.earliestExpiry()).isEqualTo(50);
        assertThat(expire(ready, 60)).containsExactly("soon");
        assertThat(ready.size()).isEqualTo(3);
        assertThat(ready.earliestExpiry()).isEqualTo(80);
        assertThat(expire(ready, 80)).containsExactly("later");
        assertThat(ready.earliestExpiry()).isZero();
        assertThat(drain(ready)).containsExactly("forever", "forever too");
    }

    @Test
    void shouldTrackAQueueTtlEntryThatExpiresBeforeOneAddedAheadOfIt() {
        ReadyList ready = new ReadyList(0);
        ready.add(entry("clock before it went back", 0, 1_000));
        ready.add(entry("clock after it went back", 0, 500));
        assertThat(ready.earliestExpiry()).isEqualTo(500);
        assertThat(expire(ready, 600)).containsExactly("clock after it went back");
        assertThat(drain(ready)).containsExactly("clock before it went back");
    }

    @Test
    void shouldNotExpireADeliveredEntryButExpireItOnceRequeued() {
        ReadyList ready = new ReadyList(0);
        Entry delivered = expiringEntry("delivered", 0, 50);
        ready.add(delivered);
        ready.add(entry("stays", 0, 0));
        assertThat(ready.poll()).isSameAs(delivered);
        assertThat(expire(ready, 60)).isEmpty(); // delivered: the consumer has it, not the list
        assertThat(ready.earliestExpiry()).isZero();
        ready.addReturned(delivered);
        assertThat(ready.earliestExpiry()).isEqualTo(50);
        assertThat(expire(ready, 60)).containsExactly("delivered");
        assertThat(drain(ready)).containsExactly("stays");
    }

    @Test
    void shouldKeepTheExpiryHeapBoundedWhenExpiringEntriesAreConsumed() {
        ReadyList ready = new ReadyList(0);
        for (int i = 0; i < 10_000; i++) {
            ready.add(expiringEntry("m" + i, 0, 1_000_000 + i));
            ready.poll(); // consumed long before it expires: stale in the heap
        }
        ready.add(expiringEntry("live", 0, 2_000_000));
        assertThat(ready.expiryHeapSize()).isLessThanOrEqualTo(200);
        assertThat(ready.earliestExpiry()).isEqualTo(2_000_000);
    }

    @Test
    void shouldDropEntriesExpiredInPlaceFromTheirLevel() {
        ReadyList ready = new ReadyList(0);
        ready.add(entry("head", 0, 0));
        for (int i = 0; i < 1_000; i++) {
            ready.add(expiringEntry("m" + i, 0, 100 + i));
        }
        ready.add(entry("tail", 0, 0));
        assertThat(expire(ready, 10_000)).hasSize(1_000);
        assertThat(ready.size()).isEqualTo(2);
        assertThat(ready.expiryHeapSize()).isZero();
        assertThat(drain(ready)).containsExactly("head", "tail");
    }

    @Test
    void shouldExpireExactlyWhatAFullScanWouldAcrossRandomOperations() {
        SplittableRandom random = new SplittableRandom(7);
        ReadyList ready = new ReadyList(3);
        List<Entry> readyEntries = new ArrayList<>();
        List<Entry> delivered = new ArrayList<>();
        long nowMs = 0;
        for (int step = 0; step < 5_000; step++) {
            nowMs += random.nextInt(3);
            int op = random.nextInt(10);
            if (op < 5) {
                int priority = random.nextInt(4);
                Entry entry = random.nextBoolean()
                        ? entry("q" + step, priority, nowMs + 200) // x-message-ttl 200
                        : expiringEntry("p" + step, priority, nowMs + random.nextInt(1, 200));
                ready.add(entry);
                readyEntries.add(entry);
            } else if (op < 7) {
                Entry entry = ready.poll();
                if (entry != null) {
                    readyEntries.remove(entry);
                    delivered.add(entry);
                }
            } else if (op < 8 && !delivered.isEmpty()) {
                Entry entry = delivered.remove(random.nextInt(delivered.size()));
                ready.addReturned(entry);
                readyEntries.add(entry);
            } else {
                long cutoff = nowMs;
                List<String> expected = readyEntries.stream()
                        .filter(e -> e.expiresAtMs <= cutoff)
                        .map(ReadyListTest::body)
                        .sorted()
                        .toList();
                List<Entry> expired = new ArrayList<>();
                ready.removeExpired(cutoff, expired::add);
                assertThat(expired.stream().map(ReadyListTest::body).sorted().toList())
                        .as("step %d", step)
                        .isEqualTo(expected);
                readyEntries.removeAll(expired);
                long earliest = readyEntries.stream()
                        .mapToLong(e -> e.expiresAtMs)
                        .min()
                        .orElse(0);
                assertThat(ready.earliestExpiry()).as("step %d", step).isEqualTo(earliest);
            }
            assertThat(ready.size()).isEqualTo(readyEntries.size());
            assertThat(ready.bytes())
                    .isEqualTo(readyEntries.stream().mapToLong(e -> e.bodyBytes).sum());
        }
    }
}
