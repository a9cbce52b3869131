package dev.courier.cluster.fifo;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/**
 * Replicas agree: random command sequences give the same replies, effects and snapshot bytes on
 * every state, whether applied from scratch or from a snapshot taken part way; and the state keeps
 * its invariants throughout.
 */
class ReplicaDeterminismTest {
    /** One replayable log: commands with their times. */
    record Log(List<Command> commands, long[] timesMs) {
        static Log random(long seed, int length) {
            Random random = new Random(seed);
            RandomCommands generator = new RandomCommands(random);
            List<Command> commands = new ArrayList<>();
            long[] times = new long[length];
            long time = 1_000;
            for (int i = 0; i < length; i++) {
                time += generator.timeStep();
                times[i] = time;
                // Ids are per queue and about one command in eight enqueues to a given queue: settles mostly hit.
                commands.add(fixPrefetch(generator.plausibleCommand(1 + i / 8)));
            }
            return new Log(commands, times);
        }

        /** Each consumer id keeps one prefetch, so "never above its prefetch" is a strict invariant. */
        private static Command fixPrefetch(Command command) {
            if (command instanceof Command.Checkout c) {
                int prefetch = (c.consumerId().charAt(1) - '0') % 4;
                return new Command.Checkout(
                        c.queue(),
                        c.consumerId(),
                        c.node(),
                        prefetch,
                        c.autoAck(),
                        c.consumerPriority(),
                        c.exclusive());
            }
            return command;
        }
    }

    /** What applying part of a log produced. */
    record Run(List<Reply> replies, List<Effect> effects) {}

    static Run applyRange(QueueGroupState state, Log log, int from, int to) {
        List<Reply> replies = new ArrayList<>();
        Effects effects = new Effects();
        for (int i = from; i < to; i++) {
            replies.add(state.apply(i + 1, log.timesMs()[i], log.commands().get(i), effects));
        }
        return new Run(replies, new ArrayList<>(effects.list()));
    }

    @Property(tries = 150)
    void shouldGiveTwoReplicasIdenticalRepliesEffectsAndSnapshots(@ForAll long seed) throws IOException {
        Log log = Log.random(seed, 300);
        QueueGroupState a = new QueueGroupState();
        QueueGroupState b = new QueueGroupState();

        Run runA = applyRange(a, log, 0, 300);
        Run runB = applyRange(b, log, 0, 300);

        assertThat(runB).isEqualTo(runA);
        assertThat(Snapshots.bytes(b)).isEqualTo(Snapshots.bytes(a));
    }

    @Property(tries = 150)
    void shouldContinueFromASnapshotExactlyAsWithoutIt(
            @ForAll long seed, @ForAll @IntRange(min = 0, max = 300) int snapshotAt) throws IOException {
        Log log = Log.random(seed, 300);
        QueueGroupState straight = new QueueGroupState();
        applyRange(straight, log, 0, snapshotAt);
        byte[] snapshot = Snapshots.bytes(straight);
        QueueGroupState restored = Snapshots.restore(snapshot);
        assertThat(Snapshots.bytes(restored)).isEqualTo(snapshot);
        assertThat(restored.lastAppliedIndex()).isEqualTo(snapshotAt);

        Run afterStraight = applyRange(straight, log, snapshotAt, 300);
        Run afterRestored = applyRange(restored, log, snapshotAt, 300);

        assertThat(afterRestored).isEqualTo(afterStraight);
        assertThat(Snapshots.bytes(restored)).isEqualTo(Snapshots.bytes(straight));
    }

    @Property(tries = 150)
    void shouldKeepCountsConsistentAndNeverOverdeliver(@ForAll long seed) {
        Log log = Log.random(seed, 300);
        QueueGroupState state = new QueueGroupState();
        Map<String, Long> gone = new HashMap<>();
        Effects effects = new Effects();
        for (int i = 0; i < 300; i++) {
            Command command = log.commands().get(i);
            effects.clear();
            Reply reply = state.apply(i + 1, log.timesMs()[i], command, effects);
            if (command instanceof Command.DeleteQueue d) {
                gone.remove(d.queue());
            } else if (command instanceof Command.Purge p && reply instanceof Reply.Count count) {
                gone.merge(p.queue(), count.count(), Long::sum);
            } else if (reply instanceof Reply.Enqueued enqueued
                    && enqueued.outcome() == Reply.EnqueueOutcome.REJECTED
                    && !effects.isEmpty()) {
                // reject-publish-dlx dead-letters a message that was never published.
                gone.merge(((Command.Enqueue) command).queue(), -1L, Long::sum);
            }
            for (String queue : state.queueNames()) {
                checkInvariants(state, queue, gone.getOrDefault(queue, 0L));
            }
        }
    }

    @Test
    void shouldExerciseEveryKindOfOutcomeInTheRandomLogs() {
        Set<String> kinds = new TreeSet<>();
        for (long seed = 0; seed < 80; seed++) {
            Log log = Log.random(seed, 300);
            QueueGroupState state = new QueueGroupState();
            Run run = applyRange(state, log, 0, 300);
            for (Reply reply : run.replies()) {
                kinds.add(
                        reply instanceof Reply.Enqueued e
                                ? e.outcome().name()
                                : reply.getClass().getSimpleName());
            }
            for (Effect effect : run.effects()) {
                if (effect instanceof Effect.Deliver d) {
                    kinds.add(d.redelivered() ? "Redeliver" : "Deliver");
                } else if (effect instanceof Effect.DeadLettered d) {
                    kinds.add(d.reason());
                } else {
                    kinds.add(effect.getClass().getSimpleName());
                }
            }
            for (String queue : state.queueNames()) {
                QueueStats stats = state.stats(queue);
                if (stats.acked() > 0) {
                    kinds.add("acked");
                }
            }
        }
        assertThat(kinds)
                .contains(
                        "ACCEPTED",
                        "DUPLICATE",
                        "REJECTED",
                        "Ok",
                        "NoSuchQueue",
                        "Count",
                        "GetOk",
                        "GetEmpty",
                        "InExclusiveUse",
                        "Deliver",
                        "Redeliver",
                        "ConsumerCancelled",
                        "expired",
                        "rejected",
                        "maxlen",
                        "delivery_limit",
                        "acked");
    }

    private static void checkInvariants(QueueGroupState state, String queue, long purgedAdjustment) {
        QueueView view = state.queue(queue);
        QueueStats stats = state.stats(queue);
        long held = stats.published() - stats.acked() - stats.deadLettered() - stats.dropped() - purgedAdjustment;
        assertThat((long) view.readyCount() + view.unackedCount())
                .as("ready + unacked of %s", queue)
                .isEqualTo(held);
        assertThat(view.readyCount()).isNotNegative();
        assertThat(view.readyBytes()).isNotNegative();
        if (view.readyCount() == 0) {
            assertThat(view.readyBytes()).isZero();
        }

        Set<Long> seen = new HashSet<>();
        int unacked = 0;
        int consumers = 0;
        for (ConsumerView consumer : state.consumers(queue)) {
            for (long id : consumer.unackedIds()) {
                assertThat(seen.add(id))
                        .as("message %d held by two consumers", id)
                        .isTrue();
            }
            unacked += consumer.unackedIds().size();
            if (!consumer.getOnly()) {
                consumers++;
                if (consumer.prefetch() > 0) {
                    assertThat(consumer.unackedIds()).hasSizeLessThanOrEqualTo(consumer.prefetch());
                }
            } else {
                assertThat(consumer.unackedIds())
                        .as("empty get-only holders are removed")
                        .isNotEmpty();
            }
        }
        assertThat(unacked).isEqualTo(view.unackedCount());
        assertThat(consumers).isEqualTo(view.consumerCount());
    }
}
