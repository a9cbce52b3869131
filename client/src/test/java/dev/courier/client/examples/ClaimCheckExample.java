package dev.courier.client.examples;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.Delivery;
import dev.courier.client.ClaimCheck;
import dev.courier.client.FileSystemPayloadStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Claim check: the 20 MiB payload goes to a shared store; the message carries only a reference. */
public final class ClaimCheckExample {
    public static int run(ConnectionFactory factory, Path storeDirectory) throws Exception {
        ClaimCheck claimCheck = ClaimCheck.builder(FileSystemPayloadStore.open(storeDirectory))
                .thresholdBytes(64 * 1024) // smaller payloads travel inline
                .deletion(ClaimCheck.Deletion.ON_ACK)
                .build();
        try (Connection connection = factory.newConnection()) {
            Channel channel = connection.createChannel();
            channel.queueDeclare("scans", true, false, false, null);

            byte[] scan = new byte[20 * 1024 * 1024];
            AMQP.BasicProperties props =
                    new AMQP.BasicProperties.Builder().contentType("image/tiff").build();
            claimCheck.publish(channel, "", "scans", props, scan); // the message body is empty

            CompletableFuture<Integer> received = new CompletableFuture<>();
            Channel consumer = connection.createChannel();
            consumer.basicConsume(
                    "scans",
                    false,
                    (tag, delivery) -> {
                        Delivery scanned = claimCheck.resolve(delivery); // reads and verifies the payload
                        claimCheck.ack(consumer, scanned); // acks, then deletes the payload
                        received.complete(scanned.getBody().length);
                    },
                    tag -> {});
            return received.get(10, TimeUnit.SECONDS); // 20971520
        }
    }

    public static void main(String[] args) throws Exception {
        System.out.println(run(new ConnectionFactory(), Files.createTempDirectory("payloads")));
    }
}
