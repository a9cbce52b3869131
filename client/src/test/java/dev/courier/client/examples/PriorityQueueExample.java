package dev.courier.client.examples;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** A priority queue: waiting messages are delivered highest priority first, FIFO within a priority. */
public final class PriorityQueueExample {
    public static List<String> run(ConnectionFactory factory) throws Exception {
        try (Connection connection = factory.newConnection()) {
            Channel channel = connection.createChannel();
            channel.queueDeclare("print-jobs", false, false, true, Map.of("x-max-priority", 10));
            channel.confirmSelect();
            publish(channel, "report", 1);
            publish(channel, "invoice", 9);
            publish(channel, "memo", 5);
            publish(channel, "receipt", 9);
            channel.waitForConfirmsOrDie(5_000);

            List<String> order = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                order.add(new String(channel.basicGet("print-jobs", true).getBody(), StandardCharsets.UTF_8));
            }
            return order; // [invoice, receipt, memo, report]
        }
    }

    private static void publish(Channel channel, String job, int priority) throws Exception {
        AMQP.BasicProperties props =
                new AMQP.BasicProperties.Builder().priority(priority).build();
        channel.basicPublish("", "print-jobs", props, job.getBytes(StandardCharsets.UTF_8));
    }

    public static void main(String[] args) throws Exception {
        System.out.println(run(new ConnectionFactory()));
    }
}
