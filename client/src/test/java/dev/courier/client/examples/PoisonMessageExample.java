package dev.courier.client.examples;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import dev.courier.client.FailurePolicy;
import dev.courier.client.WorkerPool;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Poison messages: a message that keeps failing is requeued until the queue's x-delivery-limit,
 * then dead-lettered to a DLQ (with x-death saying why) instead of looping forever.
 */
public final class PoisonMessageExample {
    public static String run(ConnectionFactory factory) throws Exception {
        try (Connection connection = factory.newConnection()) {
            Channel channel = connection.createChannel();
            channel.queueDeclare("payments.dlq", true, false, false, null);
            channel.queueDeclare(
                    "payments",
                    true,
                    false,
                    false,
                    Map.of(
                            "x-delivery-limit", 3,
                            "x-dead-letter-exchange", "",
                            "x-dead-letter-routing-key", "payments.dlq"));

            CompletableFuture<String> deadLettered = new CompletableFuture<>();
            channel.basicConsume(
                    "payments.dlq",
                    true,
                    (tag, dead) -> deadLettered.complete(new String(dead.getBody(), StandardCharsets.UTF_8)
                            + " died of " + dead.getProperties().getHeaders().get("x-first-death-reason")),
                    tag -> {});

            WorkerPool pool = WorkerPool.builder(connection, "payments", delivery -> {
                        if (new String(delivery.getBody(), StandardCharsets.UTF_8).contains("poison")) {
                            throw new IllegalArgumentException("cannot parse payment");
                        }
                    })
                    .onFailure(FailurePolicy.REQUEUE) // retry: the delivery limit stops a poison message
                    .start();
            channel.basicPublish("", "payments", null, "pay 10 EUR".getBytes(StandardCharsets.UTF_8));
            channel.basicPublish("", "payments", null, "poison{".getBytes(StandardCharsets.UTF_8));

            String result = deadLettered.get(10, TimeUnit.SECONDS);
            pool.close();
            return result; // "poison{ died of delivery_limit"
        }
    }

    public static void main(String[] args) throws Exception {
        System.out.println(run(new ConnectionFactory()));
    }
}
