package dev.courier.broker;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A basic.get's reply and delivery come in either order; a get whose submit failed gives its
 * delivery back whether it came before or after the failure; no body is leaked.
 */
class PendingGetsTest {
    private final TestMessages messages = new TestMessages();
    private final List<Delivery> givenBack = new CopyOnWriteArrayList<>();
    private final PendingGets gets = new PendingGets(delivery -> {
        givenBack.add(delivery);
        delivery.message().release();
    });

    @AfterEach
    void nothingLeaked() {
        messages.assertAllReleased();
    }

    private Delivery delivery(long entryId) {
        return new Delivery(null, entryId, messages.create("m" + entryId), false, -1);
    }

    @Test
    void shouldAnswerWhenTheReplyComesBeforeTheDelivery() {
        CompletableFuture<Delivery> answer = gets.awaitDelivery(1);
        assertThat(answer).isNotDone();

        gets.delivered(1, delivery(10));

        assertThat(answer.join().entryId()).isEqualTo(10);
        answer.join().message().release();
        assertThat(gets.size()).isZero();
    }

    @Test
    void shouldAnswerWhenTheDeliveryComesBeforeTheReply() {
        gets.delivered(1, delivery(10));

        CompletableFuture<Delivery> answer = gets.awaitDelivery(1);

        assertThat(answer.join().entryId()).isEqualTo(10);
        answer.join().message().release();
        assertThat(gets.size()).isZero();
        assertThat(givenBack).isEmpty();
    }

    @Test
    void shouldGiveBackADeliveryThatCameBeforeTheFailure() {
        gets.delivered(1, delivery(10));

        gets.abandon(1);

        assertThat(givenBack).extracting(Delivery::entryId).containsExactly(10L);
        assertThat(gets.size()).isZero();
    }

    @Test
    void shouldGiveBackADeliveryThatComesAfterTheFailure() {
        gets.abandon(1);
        assertThat(givenBack).isEmpty();

        gets.delivered(1, delivery(10));

        assertThat(givenBack).extracting(Delivery::entryId).containsExactly(10L);
        assertThat(gets.size()).isZero();
    }

    @Test
    void shouldKeepGetsApart() {
        gets.abandon(1);
        CompletableFuture<Delivery> answer = gets.awaitDelivery(2);

        gets.delivered(2, delivery(20));
        gets.delivered(1, delivery(10));

        assertThat(answer.join().entryId()).isEqualTo(20);
        answer.join().message().release();
        assertThat(givenBack).extracting(Delivery::entryId).containsExactly(10L);
        assertThat(gets.size()).isZero();
    }

    @Test
    void shouldReleaseARepeatedDeliveryAndWhatNobodyCollected() {
        gets.delivered(1, delivery(10));
        gets.delivered(1, delivery(11)); // the same get applied twice cannot happen; if it did, no leak

        gets.releaseAll();

        assertThat(givenBack).isEmpty();
    }
}
