package dev.courier.client;

import com.rabbitmq.client.Delivery;

/**
 * Application code that processes one delivery. Returning normally means "done, ack it"; throwing
 * means "failed", and the calling helper settles the message by its {@link FailurePolicy}.
 */
@FunctionalInterface
public interface DeliveryHandler {
    void handle(Delivery delivery) throws Exception;
}
