package dev.courier.client.examples;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.MessageProperties;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** A durable queue: persistent messages confirmed once on disk, consumed with manual acks. */
public final class QueueExample {
    public static List<String> run(ConnectionFactory factory) throws Exception {
        try (Connection connection = factory.newConnection()) {
            Channel channel = connection.createChannel();
            channel.queueDeclare("tasks", true, false, false, null);
            channel.confirmSelect();
            for (String task : List.of("wash", "dry", "fold")) {
                byte[] body = task.getBytes(StandardCharsets.UTF_8);
                channel.basicPublish("", "tasks", MessageProperties.PERSISTENT_TEXT_PLAIN, body);
            }
            channel.waitForConfirmsOrDie(5_000); // the broker has them on disk

            BlockingQueue<String> received = new LinkedBlockingQueue<>();
            channel.basicConsume(
                    "tasks",
                    false,
                    (tag, delivery) -> {
                        channel.basicAck(delivery.getEnvelope().getDeliveryTag(), false);
                        received.add(new String(delivery.getBody(), StandardCharsets.UTF_8));
                    },
                    tag -> {});
            List<String> done = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                done.add(received.poll(5, TimeUnit.SECONDS));
            }
            return done; // [wash, dry, fold]: FIFO
        }
    }

    public static void main(String[] args) throws Exception {
        System.out.println(run(new ConnectionFactory())); // a broker on localhost:5672
    }
}
