package dev.courier.cluster.meta;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** The metadata state machine driven directly: batches in, map, results and listener calls out. */
class MetadataMachineTest {
    private final RecordingListener listener = new RecordingListener();
    private final MetadataMachine machine = new MetadataMachine(listener);
    private long index;

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private MetaResult apply(MetaOp... ops) {
        return MetaResult.decode(
                machine.apply(++index, 1_000 + index, MetaBatch.of(ops).encode(), false));
    }

    @Test
    void shouldPutAndDeleteKeysAndTellTheListenerEachChange() {
        assertThat(apply(new MetaOp.Put("a", bytes("1")), new MetaOp.Put("b", bytes("2")))
                        .applied())
                .isTrue();
        assertThat(apply(new MetaOp.Delete("a")).applied()).isTrue();

        assertThat(listener.texts()).isEqualTo(Map.of("b", "2"));
        assertThat(listener.batches())
                .containsExactly(
                        List.of(new MetaChange("a", bytes("1")), new MetaChange("b", bytes("2"))),
                        List.of(new MetaChange("a", null)));
        assertThat(machine.get("b")).isEqualTo(bytes("2"));
        assertThat(machine.appliedIndex()).isEqualTo(2);
    }

    @Test
    void shouldNotReportWritesThatChangeNothing() {
        apply(new MetaOp.Put("a", bytes("1")));
        apply(new MetaOp.Put("a", bytes("1")), new MetaOp.Delete("missing"));

        assertThat(listener.batches()).hasSize(1);
    }

    @Test
    void shouldApplyNothingOfABatchWhoseConditionFails() {
        apply(new MetaOp.Put("exchange/x", bytes("direct")));

        MetaResult result = apply(
                new MetaOp.Put("binding/x/q", bytes("b")),
                new MetaOp.ExpectPresent("exchange/x"),
                new MetaOp.ExpectPresent("queue/q"));

        assertThat(result.applied()).isFalse();
        assertThat(result.rejectedOp()).isEqualTo(2);
        assertThat(result.inForce()).isNull();
        assertThat(machine.get("binding/x/q")).isNull();
        assertThat(listener.batches()).hasSize(1);
    }

    @Test
    void shouldAnswerTheValueInForceWhenPutIfAbsentMeetsAnotherOne() {
        assertThat(apply(new MetaOp.PutIfAbsent("exchange/x", bytes("direct"))).applied())
                .isTrue();
        assertThat(apply(new MetaOp.PutIfAbsent("exchange/x", bytes("direct"))).applied())
                .as("the same value again holds")
                .isTrue();

        MetaResult loser = apply(new MetaOp.PutIfAbsent("exchange/x", bytes("fanout")));

        assertThat(loser.applied()).isFalse();
        assertThat(loser.rejectedOp()).isZero();
        assertThat(loser.inForce()).isEqualTo(bytes("direct"));
        assertThat(listener.texts()).isEqualTo(Map.of("exchange/x", "direct"));
    }

    @Test
    void shouldDeleteByPrefixAtomicallyWithItsOwner() {
        apply(
                new MetaOp.Put("exchange/x", bytes("direct")),
                new MetaOp.Put("binding/x\u0000q1", bytes("")),
                new MetaOp.Put("binding/x\u0000q2", bytes("")),
                new MetaOp.Put("binding/xy\u0000q1", bytes("")));

        apply(new MetaOp.Delete("exchange/x"), new MetaOp.DeletePrefix("binding/x\u0000"));

        assertThat(listener.texts().keySet()).containsExactly("binding/xy\u0000q1");
        assertThat(listener.batches().get(1))
                .containsExactly(
                        new MetaChange("exchange/x", null),
                        new MetaChange("binding/x\u0000q1", null),
                        new MetaChange("binding/x\u0000q2", null));
    }

    @Test
    void shouldRejectWhenAPrefixThatMustBeUnusedIsUsed() {
        apply(new MetaOp.Put("binding/x\u0000q1", bytes("")));

        MetaResult result = apply(new MetaOp.ExpectNoPrefix("binding/x\u0000"), new MetaOp.Delete("exchange/x"));

        assertThat(result.rejectedOp()).isZero();
        assertThat(new String(result.inForce(), StandardCharsets.UTF_8)).isEqualTo("binding/x\u0000q1");
    }

    @Test
    void shouldListKeysByPrefix() {
        apply(
                new MetaOp.Put("user/a", bytes("1")),
                new MetaOp.Put("user/b", bytes("2")),
                new MetaOp.Put("vhost/a", bytes("")));

        assertThat(machine.prefix("user/").keySet()).containsExactly("user/a", "user/b");
    }

    @Test
    void shouldFailTheCommandButGoOnAfterAnUndecodableBatch() {
        assertThatThrownBy(() -> machine.apply(1, 0, new byte[] {9, 9}, false)).isInstanceOf(RuntimeException.class);
        index = 1;

        assertThat(apply(new MetaOp.Put("a", bytes("1"))).applied()).isTrue();
        assertThat(machine.appliedIndex()).isEqualTo(2);
    }

    @Test
    void shouldCompleteWaitersOnceTheirIndexIsAppliedHere() {
        CompletableFuture<Void> second = machine.awaitApplied(2);
        apply(new MetaOp.Put("a", bytes("1")));
        assertThat(second).isNotDone();

        apply(new MetaOp.Put("b", bytes("1")));

        assertThat(second).isDone();
        assertThat(machine.awaitApplied(1)).isDone();
    }

    @Test
    void shouldRestoreTheWholeMapFromASnapshotAndTellTheListener() throws IOException {
        apply(new MetaOp.Put("a", bytes("1")), new MetaOp.Put("b", bytes("2")));
        apply(new MetaOp.Delete("a"), new MetaOp.Put("c", bytes("3")));
        ByteArrayOutputStream snapshot = new ByteArrayOutputStream();
        machine.writeSnapshot(snapshot);

        RecordingListener restoredListener = new RecordingListener();
        MetadataMachine restored = new MetadataMachine(restoredListener);
        CompletableFuture<Void> waiting = restored.awaitApplied(2);
        restored.readSnapshot(new ByteArrayInputStream(snapshot.toByteArray()));

        assertThat(restoredListener.restores()).isEqualTo(1);
        assertThat(restoredListener.texts()).isEqualTo(Map.of("b", "2", "c", "3"));
        assertThat(restored.appliedIndex()).isEqualTo(2);
        assertThat(waiting).isDone();
        ByteArrayOutputStream again = new ByteArrayOutputStream();
        restored.writeSnapshot(again);
        assertThat(again.toByteArray()).isEqualTo(snapshot.toByteArray());
    }

    @Test
    void shouldReachTheSameMapOnEveryReplicaForTheSameLogAndThroughASnapshot() throws IOException {
        Random random = new Random(42);
        List<byte[]> log = new ArrayList<>();
        String[] keys = {"a", "b", "c", "ab", "abc", "b/1", "b/2"};
        for (int i = 0; i < 500; i++) {
            List<MetaOp> ops = new ArrayList<>();
            for (int n = 1 + random.nextInt(3); n > 0; n--) {
                String key = keys[random.nextInt(keys.length)];
                ops.add(
                        switch (random.nextInt(6)) {
                            case 0 -> new MetaOp.Put(key, bytes(Integer.toString(i)));
                            case 1 -> new MetaOp.PutIfAbsent(key, bytes(Integer.toString(i % 3)));
                            case 2 -> new MetaOp.Delete(key);
                            case 3 -> new MetaOp.DeletePrefix(key);
                            case 4 -> new MetaOp.ExpectPresent(key);
                            default -> new MetaOp.ExpectNoPrefix(key);
                        });
            }
            log.add(new MetaBatch(ops).encode());
        }
        RecordingListener first = new RecordingListener();
        MetadataMachine one = new MetadataMachine(first);
        RecordingListener second = new RecordingListener();
        MetadataMachine other = new MetadataMachine(second);
        List<byte[]> replies = new ArrayList<>();
        for (int i = 0; i < log.size(); i++) {
            replies.add(one.apply(i + 1, i, log.get(i), true));
            assertThat(other.apply(i + 1, i, log.get(i), false)).isEqualTo(replies.get(i));
            if (i == 250) {
                // a third replica joins here from the first one's snapshot and follows the rest of the log
                ByteArrayOutputStream snapshot = new ByteArrayOutputStream();
                one.writeSnapshot(snapshot);
                RecordingListener third = new RecordingListener();
                MetadataMachine late = new MetadataMachine(third);
                late.readSnapshot(new ByteArrayInputStream(snapshot.toByteArray()));
                for (int j = i + 1; j < log.size(); j++) {
                    late.apply(j + 1, j, log.get(j), false);
                }
                ByteArrayOutputStream lateState = new ByteArrayOutputStream();
                late.writeSnapshot(lateState);
                for (int j = i + 1; j < log.size(); j++) {
                    one.apply(j + 1, j, log.get(j), true);
                    other.apply(j + 1, j, log.get(j), false);
                }
                ByteArrayOutputStream oneState = new ByteArrayOutputStream();
                one.writeSnapshot(oneState);
                assertThat(lateState.toByteArray()).isEqualTo(oneState.toByteArray());
                assertThat(third.texts()).isEqualTo(first.texts());
                break;
            }
        }
        assertThat(second.texts()).isEqualTo(first.texts());
        assertThat(first.batches()).isNotEmpty();
    }
}
