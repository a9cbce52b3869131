package dev.courier.wire;

import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import dev.courier.server.CourierServer;
import dev.courier.server.ServerConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongSupplier;
import java.util.function.UnaryOperator;

/**
 * An in-process broker on one test's data dir that the test can stop and start again (durability
 * across restarts), with the connections it opened closed on each stop. Not thread-safe.
 */
final class RestartableServer implements AutoCloseable {
    private final Path dataDir;
    private final LongSupplier clockMs;
    private final UnaryOperator<ServerConfig> settings;
    private final List<Connection> connections = new ArrayList<>();
    private CourierServer server;

    /**
     * @param clockMs the broker's clock (tests drive TTLs with it)
     * @param settings config keys beyond ports and data dir (AMQP on a free port, management on a free one)
     */
    RestartableServer(Path dataDir, LongSupplier clockMs, UnaryOperator<ServerConfig> settings) {
        this.dataDir = dataDir;
        this.clockMs = clockMs;
        this.settings = settings;
    }

    RestartableServer(Path dataDir) {
        this(dataDir, System::currentTimeMillis, UnaryOperator.identity());
    }

    CourierServer start() throws Exception {
        ServerConfig config = settings.apply(
                        ServerConfig.defaults().withAmqpPort(0).withHttpPort(0))
                .withDataDir(dataDir);
        server = CourierServer.start(config, clockMs);
        return server;
    }

    /** Stops (closing the connections it opened) and starts again on the same data dir. */
    CourierServer restart() throws Exception {
        stop();
        return start();
    }

    CourierServer server() {
        return server;
    }

    /** A connection as guest to vhost "/", without automatic recovery; closed on stop. */
    Connection connect() throws Exception {
        return connect("/", "guest", "guest");
    }

    Connection connect(String user, String password) throws Exception {
        return connect("/", user, password);
    }

    Connection connect(String vhost, String user, String password) throws Exception {
        ConnectionFactory factory = new ConnectionFactory();
        factory.setPort(server.amqpPort());
        factory.setVirtualHost(vhost);
        factory.setUsername(user);
        factory.setPassword(password);
        factory.setAutomaticRecoveryEnabled(false);
        Connection connection = factory.newConnection();
        connections.add(connection);
        return connection;
    }

    void stop() {
        for (Connection connection : connections) {
            if (connection.isOpen()) {
                try {
                    connection.close(); // gracefully: the broker has handled everything sent before
                } catch (java.io.IOException | com.rabbitmq.client.AlreadyClosedException e) {
                    connection.abort();
                }
            }
        }
        connections.clear();
        if (server != null) {
            server.close();
        }
        server = null;
    }

    @Override
    public void close() {
        stop();
    }
}
