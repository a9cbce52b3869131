package dev.courier.system;

import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import dev.courier.wire.FreePorts;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.IntFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.awaitility.Awaitility;

/**
 * Three Courier processes forming a cluster, node {@code i} listening on {@code hosts.get(i)}
 * (all on 127.0.0.1, or each in a network namespace of its own, see {@link Netns}). Knows which
 * nodes the test cannot reach right now (killed, or cut off), and skips them when it connects or
 * asks who leads a queue.
 */
final class ProcessCluster implements AutoCloseable {
    static final int SIZE = 3;

    private static final Pattern LEADER = Pattern.compile("\"leader\"\\s*:\\s*\"([^\"]+)\"");
    private static final Pattern RAFT_GROUP =
            Pattern.compile("\\{\"name\":\"(g\\d+)\"[^}]*?\"commit_index\":(\\d+),\"applied_index\":(\\d+)");

    private final Path dir;
    private final List<String> hosts;
    private final IntFunction<List<String>> prefix;
    private final String spec;
    private final String[] extraArgs;
    private final BrokerProcess[] nodes = new BrokerProcess[SIZE];
    private final Set<Integer> unreachable = ConcurrentHashMap.newKeySet();
    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private volatile int connectedTo;

    /**
     * @param prefix what runs node {@code i}'s launcher (e.g. {@code ip netns exec}), or empty
     * @param extraArgs more server flags for every node
     */
    ProcessCluster(Path dir, List<String> hosts, IntFunction<List<String>> prefix, String... extraArgs)
            throws IOException {
        this.dir = dir;
        this.hosts = List.copyOf(hosts);
        this.prefix = prefix;
        this.extraArgs = extraArgs.clone();
        StringBuilder cluster = new StringBuilder();
        for (int i = 0; i < SIZE; i++) {
            cluster.append(i == 0 ? "" : ",")
                    .append(nodeId(i))
                    .append('=')
                    .append(hosts.get(i))
                    .append(':')
                    .append(hosts.get(i).equals("127.0.0.1") ? FreePorts.belowEphemeralRange() : 7000 + i);
        }
        this.spec = cluster.toString();
    }

    /** Three nodes on 127.0.0.1. */
    static ProcessCluster onLoopback(Path dir) throws IOException {
        return new ProcessCluster(dir, List.of("127.0.0.1", "127.0.0.1", "127.0.0.1"), i -> List.of());
    }

    /** Starts the three together (a node's start waits for a majority) and waits for all to be ready. */
    void startAll() throws Exception {
        List<CompletableFuture<BrokerProcess>> starting = new ArrayList<>();
        for (int i = 0; i < SIZE; i++) {
            int n = i;
            starting.add(CompletableFuture.supplyAsync(() -> startNode(n)));
        }
        for (int i = 0; i < SIZE; i++) {
            nodes[i] = starting.get(i).get(180, TimeUnit.SECONDS);
        }
    }

    static String nodeId(int index) {
        return "n" + (index + 1);
    }

    BrokerProcess node(int index) {
        return nodes[index];
    }

    /** kill -9 of node {@code index}. */
    void kill(int index) throws InterruptedException {
        unreachable.add(index);
        nodes[index].kill();
    }

    /** Starts node {@code index} again on its data dir and waits for its ready line. */
    void restart(int index) {
        nodes[index] = startNode(index);
        unreachable.remove(index);
    }

    /** Marks node {@code index} as out of the test's reach (frozen, cut off) or back. */
    void reachable(int index, boolean value) {
        if (value) {
            unreachable.remove(index);
        } else {
            unreachable.add(index);
        }
    }

    /** The node the next {@link #connectToAnyLiveNode} tries first; it moves on when that fails. */
    int connectedTo() {
        return connectedTo;
    }

    void preferNode(int index) {
        connectedTo = index;
    }

    private BrokerProcess startNode(int index) {
        List<String> args =
                new ArrayList<>(List.of("--node-id", nodeId(index), "--cluster", spec, "--bind", hosts.get(index)));
        args.addAll(List.of(extraArgs));
        try {
            return BrokerProcess.start(prefix.apply(index), dir.resolve(nodeId(index)), args.toArray(String[]::new));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    ConnectionFactory factory(int index) {
        ConnectionFactory factory = new ConnectionFactory();
        factory.setHost(hosts.get(index));
        factory.setPort(nodes[index].amqpPort());
        factory.setAutomaticRecoveryEnabled(false);
        factory.setConnectionTimeout(2_000);
        factory.setRequestedHeartbeat(2); // a node cut off is noticed within seconds
        return factory;
    }

    /** The publisher's connections: the node it used last if reachable, else the next one. */
    Connection connectToAnyLiveNode() throws IOException, TimeoutException {
        IOException last = null;
        for (int attempt = 0; attempt < SIZE; attempt++) {
            int index = (connectedTo + attempt) % SIZE;
            BrokerProcess node = nodes[index];
            if (node == null || !node.alive() || unreachable.contains(index)) {
                continue;
            }
            try {
                Connection connection = factory(index).newConnection();
                connectedTo = index;
                return connection;
            } catch (IOException e) {
                last = e;
            }
        }
        connectedTo = (connectedTo + 1) % SIZE;
        throw last != null ? last : new IOException("no reachable node to connect to");
    }

    /**
     * Waits until node {@code index} has applied, in every group, what the others had committed
     * when it came back, as an operator waits before taking down the next node: with one node down
     * and another still catching up there is no majority.
     */
    void awaitCaughtUp(int index) throws Exception {
        Map<String, Long> committed = new HashMap<>();
        for (int i = 0; i < SIZE; i++) {
            if (i != index) {
                for (Map.Entry<String, Map<String, Long>> group : raftGroups(i).entrySet()) {
                    committed.merge(group.getKey(), group.getValue().get("commit"), Math::max);
                }
            }
        }
        Awaitility.await()
                .atMost(Duration.ofSeconds(120))
                .pollInterval(Duration.ofMillis(100))
                .ignoreExceptions()
                .until(() -> {
                    Map<String, Map<String, Long>> mine = raftGroups(index);
                    return committed.entrySet().stream()
                            .allMatch(e -> mine.containsKey(e.getKey())
                                    && mine.get(e.getKey()).get("applied") >= e.getValue());
                });
    }

    /** Node {@code index}'s Raft groups from /api/nodes: group to its commit and applied index. */
    private Map<String, Map<String, Long>> raftGroups(int index) throws Exception {
        Map<String, Map<String, Long>> groups = new HashMap<>();
        Matcher matcher = RAFT_GROUP.matcher(get(index, "/api/nodes"));
        while (matcher.find()) {
            groups.put(
                    matcher.group(1),
                    Map.of("commit", Long.parseLong(matcher.group(2)), "applied", Long.parseLong(matcher.group(3))));
        }
        return groups;
    }

    String get(int index, String path) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(
                        URI.create("http://" + hosts.get(index) + ":" + nodes[index].httpPort() + path))
                .timeout(Duration.ofSeconds(2))
                .header(
                        "Authorization",
                        "Basic " + Base64.getEncoder().encodeToString("guest:guest".getBytes(StandardCharsets.UTF_8)))
                .build();
        return http.send(request, HttpResponse.BodyHandlers.ofString()).body();
    }

    /** Asks the reachable nodes' management API which node leads the queue. */
    int leaderIndex(String queue) {
        String[] leader = new String[1];
        Awaitility.await()
                .atMost(Duration.ofSeconds(30))
                .pollInterval(Duration.ofMillis(100))
                .until(() -> {
                    for (int i = 0; i < SIZE; i++) {
                        if (nodes[i] == null || !nodes[i].alive() || unreachable.contains(i)) {
                            continue;
                        }
                        try {
                            Matcher matcher = LEADER.matcher(get(i, "/api/queues/%2F/" + queue));
                            if (matcher.find()) {
                                leader[0] = matcher.group(1);
                                return true;
                            }
                        } catch (IOException e) {
                            // not answering: ask the next one
                        }
                    }
                    return false;
                });
        return Integer.parseInt(leader[0].substring(1)) - 1;
    }

    /** A node that is neither {@code a} nor {@code b} (any other than {@code a} if they are equal). */
    static int otherThan(int a, int b) {
        for (int i = 0; i < SIZE; i++) {
            if (i != a && i != b) {
                return i;
            }
        }
        return (a + 1) % SIZE;
    }

    @Override
    public void close() {
        for (BrokerProcess node : nodes) {
            if (node != null) {
                node.close();
            }
        }
    }
}
