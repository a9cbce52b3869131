package dev.courier.wire;

import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import dev.courier.server.CourierServer;
import dev.courier.server.ServerConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A Courier broker started in-process on a free port for one test class, and the official
 * RabbitMQ Java client pointed at it. Connections opened through {@link #connect()} are closed
 * after each test.
 *
 * <p>With {@code -Dcourier.it.external=host:port} the tests run against that broker instead
 * (e.g. a real RabbitMQ, to check that a test encodes RabbitMQ's behaviour).
 */
public final class CourierBroker implements BeforeAllCallback, AfterAllCallback, AfterEachCallback {
    static {
        LeakTracker.install();
    }

    private final List<Connection> connections = new ArrayList<>();
    private ServerConfig config = ServerConfig.defaults();
    private CourierServer server;
    private Path dataDir;
    private String host = "127.0.0.1";
    private int port;

    /** Adjusts the server's config before it starts (e.g. a smaller max message size). */
    public CourierBroker with(String key, String value) {
        config = config.with(key, value);
        return this;
    }

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        String external = System.getProperty("courier.it.external");
        if (external != null && !external.isBlank()) {
            host = external.substring(0, external.lastIndexOf(':'));
            port = Integer.parseInt(external.substring(external.lastIndexOf(':') + 1));
            return;
        }
        dataDir = Files.createTempDirectory("courier-it");
        server = CourierServer.start(config.withAmqpPort(0).withHttpPort(0).withDataDir(dataDir));
        port = server.amqpPort();
    }

    @Override
    public void afterEach(ExtensionContext context) {
        for (Connection connection : connections) {
            if (connection.isOpen()) {
                try {
                    connection.close(5_000);
                } catch (IOException | RuntimeException e) {
                    connection.abort();
                }
            }
        }
        connections.clear();
    }

    @Override
    public void afterAll(ExtensionContext context) throws IOException {
        if (server != null) {
            server.close();
            List<String> leaks = LeakTracker.collectLeaks();
            if (!leaks.isEmpty()) {
                throw new AssertionError(
                        "the broker leaked " + leaks.size() + " buffer(s):\n" + String.join("\n", leaks));
            }
        }
        if (dataDir != null) {
            try (Stream<Path> paths = Files.walk(dataDir)) {
                paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /** True when the tests run against Courier (not an external broker). */
    public boolean isCourier() {
        return server != null;
    }

    public CourierServer server() {
        return server;
    }

    public int port() {
        return port;
    }

    public String host() {
        return host;
    }

    /** A factory for this broker: guest/guest, no automatic recovery, short timeouts. */
    public ConnectionFactory factory() {
        ConnectionFactory factory = new ConnectionFactory();
        factory.setHost(host);
        factory.setPort(port);
        factory.setUsername("guest");
        factory.setPassword("guest");
        factory.setAutomaticRecoveryEnabled(false);
        factory.setConnectionTimeout(10_000);
        factory.setHandshakeTimeout(10_000);
        factory.setChannelRpcTimeout(10_000);
        factory.setShutdownTimeout(0);
        return factory;
    }

    /** A new connection, closed after the test. */
    public Connection connect() throws IOException, TimeoutException {
        return track(factory().newConnection());
    }

    /** Registers a connection made elsewhere so it is closed after the test. */
    public Connection track(Connection connection) {
        connections.add(connection);
        return connection;
    }

    /** A name no other test uses. */
    public static String unique(String prefix) {
        return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
    }
}
