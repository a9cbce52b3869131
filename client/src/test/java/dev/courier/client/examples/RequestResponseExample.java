package dev.courier.client.examples;

import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import dev.courier.client.RpcClient;
import dev.courier.client.RpcServer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/** Request/response over direct reply-to: no reply queue, a correlation id and a timeout per call. */
public final class RequestResponseExample {
    public static String run(ConnectionFactory factory) throws Exception {
        try (Connection connection = factory.newConnection()) {
            connection.createChannel().queueDeclare("rpc.square", false, false, true, null);
            RpcServer server = RpcServer.start(connection, "rpc.square", 10, request -> {
                long n = Long.parseLong(new String(request.getBody(), StandardCharsets.UTF_8));
                return Long.toString(n * n).getBytes(StandardCharsets.UTF_8);
            });

            try (RpcClient client = RpcClient.create(connection, "", "rpc.square", Duration.ofSeconds(5))) {
                byte[] reply = client.call("12".getBytes(StandardCharsets.UTF_8)); // RpcTimeoutException after 5 s
                return new String(reply, StandardCharsets.UTF_8); // "144"
            } finally {
                server.close();
            }
        }
    }

    public static void main(String[] args) throws Exception {
        System.out.println(run(new ConnectionFactory()));
    }
}
