package dev.courier.client;

import com.rabbitmq.client.Channel;
import java.io.IOException;

/**
 * What a consumer helper does with a delivery whose handler failed.
 *
 * <p>{@link #REQUEUE} retries the message (on this or another consumer); pair it with a queue
 * argument {@code x-delivery-limit} so a poison message is dead-lettered after a few attempts
 * instead of looping forever. {@link #DEAD_LETTER} rejects it without requeue, which sends it to
 * the queue's {@code x-dead-letter-exchange} (or drops it when the queue has none).
 */
public enum FailurePolicy {
    /** {@code basic.nack} with {@code requeue=true}. */
    REQUEUE,
    /** {@code basic.reject} with {@code requeue=false}: the queue dead-letters the message. */
    DEAD_LETTER;

    /** Settles a failed delivery on the channel it arrived on. */
    void settle(Channel channel, long deliveryTag) throws IOException {
        if (this == REQUEUE) {
            channel.basicNack(deliveryTag, false, true);
        } else {
            channel.basicReject(deliveryTag, false);
        }
    }
}
