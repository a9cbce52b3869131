package dev.courier.broker;

import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * The basic.get calls of one quorum queue on this node, by get token, between the submit of the
 * get and the moment both its reply and its delivery effect arrived (they come in either order: the
 * reply from the group's leader, the delivery when this node applies the entry).
 *
 * <p>A get whose submit failed may still have been committed (the Raft client gave up, the entry
 * did not). Its delivery must then go back to the queue instead of staying held by this node's get
 * holder for good: {@link #abandon} hands it to {@code giveBack} at once if it came already, or
 * marks the token so that {@link #delivered} does when it comes. The mark of a get that never
 * reached the log stays (a few bytes; the submit fails only after the Raft client's retry window).
 *
 * <p>Thread-safe: the delivery comes on the group's apply thread, replies and failures on Raft
 * client threads.
 */
final class PendingGets {
    private static final CompletableFuture<Delivery> ABANDONED = new CompletableFuture<>();

    private final Map<Long, CompletableFuture<Delivery>> byToken = new ConcurrentHashMap<>();
    private final Consumer<Delivery> giveBack;

    PendingGets(Consumer<Delivery> giveBack) {
        this.giveBack = giveBack;
    }

    /** After the get's reply said it took a message: completes with its delivery. */
    CompletableFuture<Delivery> awaitDelivery(long token) {
        CompletableFuture<Delivery> answer = byToken.computeIfAbsent(token, t -> new CompletableFuture<>());
        return answer.whenComplete((delivery, failure) -> byToken.remove(token, answer));
    }

    /** The delivery effect of the get with this token. */
    void delivered(long token, Delivery delivery) {
        boolean[] abandoned = {false};
        boolean[] duplicate = {false};
        byToken.compute(token, (t, answer) -> {
            if (answer == ABANDONED) {
                abandoned[0] = true;
                return null;
            }
            CompletableFuture<Delivery> slot = answer == null ? new CompletableFuture<>() : answer;
            duplicate[0] = !slot.complete(delivery);
            return slot;
        });
        if (abandoned[0]) {
            giveBack.accept(delivery);
        } else if (duplicate[0]) {
            delivery.message().release();
        }
    }

    /** The get's submit failed: its delivery, now or later, goes back. */
    void abandon(long token) {
        Delivery[] delivered = {null};
        byToken.compute(token, (t, answer) -> {
            if (answer == null) {
                return ABANDONED;
            }
            delivered[0] = answer.getNow(null);
            return null;
        });
        if (delivered[0] != null) {
            giveBack.accept(delivered[0]);
        }
    }

    /** Gets waiting or abandoned (tests). */
    int size() {
        return byToken.size();
    }

    /** The queue is going: releases the bodies of deliveries nobody will collect. */
    void releaseAll() {
        byToken.values().forEach(answer -> {
            if (answer != ABANDONED) {
                answer.thenAccept(delivery -> delivery.message().release());
            }
        });
    }
}
