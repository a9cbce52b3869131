package dev.courier.client;

import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import dev.courier.server.CourierServer;
import dev.courier.server.ServerConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A Courier broker started in-process on a free port for one test class (management HTTP off),
 * and factories for the official client pointed at it. Connections opened through {@link
 * #connect()} are closed after each test. {@link #restart()} stops the broker and starts it again
 * on the same data directory, on a new port.
 */
public final class TestBroker implements BeforeAllCallback, AfterAllCallback, AfterEachCallback {
    private final List<Connection> connections = new CopyOnWriteArrayList<>();
    private Path dataDir;
    private volatile CourierServer server;
    private volatile int port;

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        dataDir = Files.createTempDirectory("courier-client-it");
        start();
    }

    @Override
    public void afterEach(ExtensionContext context) {
        for (Connection connection : connections) {
            if (connection.isOpen()) {
                connection.abort(5_000);
            }
        }
        connections.clear();
    }

    @Override
    public void afterAll(ExtensionContext context) throws IOException {
        stop();
        try (Stream<Path> paths = Files.walk(dataDir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    /** Starts the broker on the data directory, on a new free port. */
    public synchronized void start() throws IOException, InterruptedException {
        server = CourierServer.start(
                ServerConfig.defaults().withAmqpPort(0).withHttpPort(-1).withDataDir(dataDir));
        port = server.amqpPort();
    }

    /** Stops the broker (every client connection drops). */
    public synchronized void stop() {
        if (server != null) {
            server.close();
            server = null;
        }
    }

    /** Stops and starts the broker on the same data directory; the port changes. */
    public void restart() throws IOException, InterruptedException {
        stop();
        start();
    }

    public CourierServer server() {
        return server;
    }

    public int port() {
        return port;
    }

    /** A factory for the broker as it runs now: guest/guest, no automatic recovery, short timeouts. */
    public ConnectionFactory factory() {
        ConnectionFactory factory = new ConnectionFactory();
        factory.setHost("127.0.0.1");
        factory.setPort(port);
        factory.setUsername("guest");
        factory.setPassword("guest");
        factory.setAutomaticRecoveryEnabled(false);
        factory.setConnectionTimeout(5_000);
        factory.setHandshakeTimeout(5_000);
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
