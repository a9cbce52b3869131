package dev.courier.wire;

import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import dev.courier.server.CourierServer;
import dev.courier.server.ServerConfig;
import java.nio.file.Files;
import java.nio.file.Path;

/** A short-lived in-process broker with one config key changed, for a single test. */
final class CourierServerForTest implements AutoCloseable {
    private final CourierServer server;
    private Connection connection;

    private CourierServerForTest(CourierServer server) {
        this.server = server;
    }

    static CourierServerForTest start(String key, String value) throws Exception {
        Path dataDir = Files.createTempDirectory("courier-it");
        ServerConfig config = ServerConfig.defaults()
                .with(key, value)
                .withAmqpPort(0)
                .withHttpPort(0)
                .withDataDir(dataDir);
        return new CourierServerForTest(CourierServer.start(config));
    }

    Connection connect() throws Exception {
        ConnectionFactory factory = new ConnectionFactory();
        factory.setPort(server.amqpPort());
        factory.setAutomaticRecoveryEnabled(false);
        connection = factory.newConnection();
        return connection;
    }

    int port() {
        return server.amqpPort();
    }

    @Override
    public void close() {
        if (connection != null && connection.isOpen()) {
            connection.abort();
        }
        server.close();
    }
}
