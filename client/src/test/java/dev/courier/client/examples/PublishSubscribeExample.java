package dev.courier.client.examples;

import com.rabbitmq.client.BuiltinExchangeType;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.GetResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Publish/subscribe: a fanout exchange copies each message to every subscriber's own queue. */
public final class PublishSubscribeExample {
    public static List<String> run(ConnectionFactory factory) throws Exception {
        try (Connection connection = factory.newConnection()) {
            Channel channel = connection.createChannel();
            channel.exchangeDeclare("news", BuiltinExchangeType.FANOUT);
            List<String> subscriptions = new ArrayList<>();
            for (int i = 0; i < 3; i++) { // each subscriber: a private, server-named queue
                String queue = channel.queueDeclare().getQueue();
                channel.queueBind(queue, "news", "");
                subscriptions.add(queue);
            }

            channel.confirmSelect();
            channel.basicPublish("news", "", null, "extra!".getBytes(StandardCharsets.UTF_8));
            channel.waitForConfirmsOrDie(5_000);

            List<String> received = new ArrayList<>();
            for (String queue : subscriptions) {
                GetResponse response = channel.basicGet(queue, true);
                received.add(new String(response.getBody(), StandardCharsets.UTF_8));
            }
            return received; // [extra!, extra!, extra!]
        }
    }

    public static void main(String[] args) throws Exception {
        System.out.println(run(new ConnectionFactory()));
    }
}
