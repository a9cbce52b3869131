package dev.courier.cluster.fifo;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Drives a {@link QueueGroupState} like a Raft log would: increasing indexes, explicit log time. */
final class QueueHarness {
    static final String Q = "q";
    static final String NODE = "n1";

    final QueueGroupState state = new QueueGroupState();
    long index;
    long timeMs = 1_000;
    /** Effects of the last command only. */
    final Effects effects = new Effects();

    QueueHarness() {}

    QueueHarness(QueueSettings settings) {
        apply(new Command.DeclareQueue(Q, settings));
    }

    Reply apply(Command command) {
        effects.clear();
        return state.apply(++index, timeMs, command, effects);
    }

    QueueHarness advance(long ms) {
        timeMs += ms;
        return this;
    }

    Reply.EnqueueOutcome publish(String body) {
        return publish(body, 0, -1);
    }

    Reply.EnqueueOutcome publish(String body, int priority, long expirationMs) {
        Reply reply = apply(new Command.Enqueue(Q, null, 0, null, priority, expirationMs, bytes(body)));
        return ((Reply.Enqueued) reply).outcome();
    }

    void consume(String consumerId, int prefetch) {
        apply(new Command.Checkout(Q, consumerId, NODE, prefetch, false, 0));
    }

    void settle(String consumerId, long... ids) {
        apply(new Command.Settle(Q, consumerId, ids));
    }

    void requeue(String consumerId, long... ids) {
        apply(new Command.Return(Q, consumerId, ids));
    }

    void cancel(String consumerId) {
        apply(new Command.Cancel(Q, consumerId));
    }

    QueueView view() {
        return state.queue(Q);
    }

    QueueStats stats() {
        return state.stats(Q);
    }

    List<Effect.Deliver> deliveries() {
        List<Effect.Deliver> out = new ArrayList<>();
        for (Effect effect : effects.list()) {
            if (effect instanceof Effect.Deliver d) {
                out.add(d);
            }
        }
        return out;
    }

    /** "consumer:body" for each delivery of the last command. */
    List<String> delivered() {
        List<String> out = new ArrayList<>();
        for (Effect.Deliver d : deliveries()) {
            out.add(d.consumerId() + ":" + text(d.message()));
        }
        return out;
    }

    List<String> deadLettered() {
        List<String> out = new ArrayList<>();
        for (Effect effect : effects.list()) {
            if (effect instanceof Effect.DeadLettered d) {
                out.add(text(d.message()) + ":" + d.reason());
            }
        }
        return out;
    }

    List<Long> unackedIds(String consumerId) {
        for (ConsumerView view : state.consumers(Q)) {
            if (view.consumerId().equals(consumerId)) {
                return view.unackedIds();
            }
        }
        return List.of();
    }

    static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    static String text(byte[] bytes) {
        return new String(bytes, StandardCharsets.UTF_8);
    }
}
