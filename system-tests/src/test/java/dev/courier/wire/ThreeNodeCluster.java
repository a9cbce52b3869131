package dev.courier.wire;

import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import dev.courier.server.CourierServer;
import dev.courier.server.ServerConfig;
import java.net.http.HttpClient;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Three Courier brokers in this JVM forming a cluster (ports 0, data under a temp dir); a node can
 * be stopped and started again on its data. Connections made through it are aborted at close.
 * Used from the test thread.
 */
final class ThreeNodeCluster implements AutoCloseable {
    static {
        // a Ratis server that cannot start fails its test instead of exiting the test JVM
        org.apache.ratis.util.ExitUtils.disableSystemExit();
    }

    private final Path dir;
    private final String spec;
    private final CourierServer[] nodes = new CourierServer[3];
    private final List<Connection> connections = new CopyOnWriteArrayList<>();
    private final HttpClient http = HttpClient.newHttpClient();

    private final Map<String, String> settings;

    ThreeNodeCluster(Path dir) {
        this(dir, Map.of());
    }

    /** With extra config keys for every node (e.g. small Raft snapshot thresholds). */
    ThreeNodeCluster(Path dir, Map<String, String> settings) {
        this.dir = dir;
        this.settings = settings;
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < nodes.length; i++) {
            s.append(i == 0 ? "" : ",")
                    .append("n")
                    .append(i + 1)
                    .append("=127.0.0.1:")
                    .append(FreePorts.belowEphemeralRange());
        }
        this.spec = s.toString();
    }

    /** Starts the three together (a node's start waits for a majority). */
    ThreeNodeCluster start() throws Exception {
        List<Thread> starters = new ArrayList<>();
        List<Throwable> failures = new CopyOnWriteArrayList<>();
        for (int i = 0; i < nodes.length; i++) {
            int n = i;
            Thread starter = new Thread(() -> {
                try {
                    nodes[n] = startNode(n);
                } catch (Exception e) {
                    failures.add(e);
                }
            });
            starter.start();
            starters.add(starter);
        }
        for (Thread starter : starters) {
            starter.join();
        }
        if (!failures.isEmpty()) {
            throw new IllegalStateException("a node did not start", failures.get(0));
        }
        return this;
    }

    private CourierServer startNode(int n) throws Exception {
        ServerConfig config = ServerConfig.defaults()
                .withAmqpPort(0)
                .withHttpPort(0)
                .withDataDir(dir.resolve("n" + (n + 1)))
                .with("cluster.node_id", "n" + (n + 1))
                .with("cluster.nodes", spec)
                .with("cluster.election_timeout_min_ms", "300")
                .with("cluster.election_timeout_max_ms", "600");
        for (Map.Entry<String, String> setting : settings.entrySet()) {
            config = config.with(setting.getKey(), setting.getValue());
        }
        return CourierServer.start(config);
    }

    CourierServer node(int n) {
        return nodes[n];
    }

    void stop(int n) {
        nodes[n].close();
        nodes[n] = null;
    }

    void restart(int n) throws Exception {
        nodes[n] = startNode(n);
    }

    Connection connect(int n) throws Exception {
        return connect(n, "/", "guest", "guest");
    }

    Connection connect(int n, String vhost, String user, String password) throws Exception {
        ConnectionFactory factory = new ConnectionFactory();
        factory.setPort(nodes[n].amqpPort());
        factory.setVirtualHost(vhost);
        factory.setUsername(user);
        factory.setPassword(password);
        factory.setAutomaticRecoveryEnabled(false);
        Connection connection = factory.newConnection();
        connections.add(connection);
        return connection;
    }

    /** A management API call through node {@code n} as guest; answers the status code. */
    int admin(int n, String method, String path, Object body) throws Exception {
        return Wire.guestApiCall(http, nodes[n].httpPort(), method, path, body);
    }

    @Override
    public void close() {
        for (Connection connection : connections) {
            if (connection.isOpen()) {
                connection.abort(2_000);
            }
        }
        for (int i = 0; i < nodes.length; i++) {
            if (nodes[i] != null) {
                stop(i);
            }
        }
    }
}
