package dev.courier.system;

import static org.assertj.core.api.Assertions.assertThat;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import dev.courier.client.ConfirmingPublisher;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Three real broker processes with a quorum queue: kill -9 the queue's leader, then a follower,
 * then the node the publisher is connected to, restarting each; then freeze the leader with
 * SIGSTOP and thaw it. A publisher that retries with
 * the same message ids on a queue with deduplication loses nothing confirmed and duplicates
 * nothing. Reports the longest gap between confirms.
 */
@Tag("system")
class QuorumFailoverIT {
    private static final Logger LOG = LoggerFactory.getLogger(QuorumFailoverIT.class);
    private static final Pattern LEADER = Pattern.compile("\"leader\"\\s*:\\s*\"([^\"]+)\"");
    private static final String QUEUE = "ha";
    private static final int OUTSTANDING = 10;

    @TempDir
    Path dir;

    private final BrokerProcess[] nodes = new BrokerProcess[3];
    private String cluster;
    private volatile int connectedTo = 1;

    @AfterEach
    void stop() {
        for (BrokerProcess node : nodes) {
            if (node != null) {
                node.close();
            }
        }
    }

    @Test
    void shouldLoseNothingConfirmedWhileLeaderFollowerAndClientNodeAreKilled() throws Exception {
        StringBuilder spec = new StringBuilder();
        for (int i = 0; i < 3; i++) {
            spec.append(i == 0 ? "" : ",")
                    .append(nodeId(i))
                    .append("=127.0.0.1:")
                    .append(freePort());
        }
        cluster = spec.toString();
        List<CompletableFuture<BrokerProcess>> starting = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            int n = i;
            starting.add(CompletableFuture.supplyAsync(() -> startNode(n)));
        }
        for (int i = 0; i < 3; i++) {
            nodes[i] = starting.get(i).get(180, TimeUnit.SECONDS);
        }
        try (Connection setup = factory(nodes[0]).newConnection()) {
            setup.createChannel()
                    .queueDeclare(
                            QUEUE,
                            true,
                            false,
                            false,
                            Map.of("x-queue-type", "quorum", "x-message-deduplication", true));
        }

        List<Long> confirmedAtNanos = Collections.synchronizedList(new ArrayList<>());
        List<CompletableFuture<ConfirmingPublisher.Confirmation>> confirms =
                Collections.synchronizedList(new ArrayList<>());
        try (ConfirmingPublisher publisher = ConfirmingPublisher.builder(this::connectToAnyLiveNode)
                .reconnectBackoff(Duration.ofMillis(50), Duration.ofMillis(500))
                .maxAttempts(1_000)
                .start()) {
            // a steady load: at most OUTSTANDING unconfirmed, the whole time, so a gap in the
            // confirms is the cluster's unavailability and not a pause of the test
            AtomicBoolean stop = new AtomicBoolean();
            CompletableFuture<Void> load = CompletableFuture.runAsync(() -> {
                int next = 0;
                while (!stop.get()) {
                    if (next >= OUTSTANDING) {
                        confirms.get(next - OUTSTANDING).join();
                    }
                    AMQP.BasicProperties props = new AMQP.BasicProperties.Builder()
                            .messageId("m-" + next)
                            .deliveryMode(2)
                            .build();
                    CompletableFuture<ConfirmingPublisher.Confirmation> confirm = publisher.publish(
                            "", QUEUE, props, Integer.toString(next).getBytes(StandardCharsets.UTF_8));
                    confirm.thenRun(() -> confirmedAtNanos.add(System.nanoTime()));
                    confirms.add(confirm);
                    next++;
                }
            });
            awaitMoreConfirms(confirmedAtNanos, 500);

            int leader = leaderIndex();
            LOG.info("killing the leader {} at {} ms", nodeId(leader), sinceFirstConfirm(confirmedAtNanos));
            nodes[leader].kill();
            awaitMoreConfirms(confirmedAtNanos, 500);
            nodes[leader] = startNode(leader);
            awaitCaughtUp(leader);
            awaitMoreConfirms(confirmedAtNanos, 500);

            int follower = otherThan(leaderIndex(), connectedTo);
            LOG.info("killing the follower {} at {} ms", nodeId(follower), sinceFirstConfirm(confirmedAtNanos));
            nodes[follower].kill();
            awaitMoreConfirms(confirmedAtNanos, 500);
            nodes[follower] = startNode(follower);
            awaitCaughtUp(follower);
            awaitMoreConfirms(confirmedAtNanos, 500);

            int clientNode = connectedTo;
            LOG.info(
                    "killing the publisher's node {} at {} ms",
                    nodeId(clientNode),
                    sinceFirstConfirm(confirmedAtNanos));
            nodes[clientNode].kill();
            awaitMoreConfirms(confirmedAtNanos, 500);
            nodes[clientNode] = startNode(clientNode);
            awaitCaughtUp(clientNode);
            awaitMoreConfirms(confirmedAtNanos, 500);

            // a frozen leader (SIGSTOP): the others elect a new one and go on; once thawed it
            // finds itself a follower and catches up
            int frozen = leaderIndex() != connectedTo ? leaderIndex() : otherThan(leaderIndex(), connectedTo);
            LOG.info("pausing {} at {} ms", nodeId(frozen), sinceFirstConfirm(confirmedAtNanos));
            nodes[frozen].pause();
            try {
                awaitMoreConfirms(confirmedAtNanos, 500);
            } finally {
                nodes[frozen].resume();
            }
            awaitCaughtUp(frozen);
            awaitMoreConfirms(confirmedAtNanos, 500);

            stop.set(true);
            load.get(60, TimeUnit.SECONDS);
            CompletableFuture.allOf(confirms.toArray(CompletableFuture[]::new)).get(120, TimeUnit.SECONDS);
            assertThat(publisher.reconnectCount()).isPositive();
            LOG.info("{} messages published and confirmed", confirms.size());
        }

        Set<String> confirmedIds = ConcurrentHashMap.newKeySet();
        for (CompletableFuture<ConfirmingPublisher.Confirmation> confirm : confirms) {
            confirmedIds.add(confirm.get().messageId());
        }
        List<String> received = Collections.synchronizedList(new ArrayList<>());
        try (Connection connection = factory(nodes[2]).newConnection()) {
            Channel channel = connection.createChannel();
            channel.basicConsume(
                    QUEUE,
                    true,
                    (tag, delivery) -> received.add(delivery.getProperties().getMessageId()),
                    tag -> {});
            Awaitility.await()
                    .atMost(Duration.ofSeconds(60))
                    .pollInterval(Duration.ofMillis(100))
                    .until(() -> received.size() >= confirmedIds.size());
        }
        assertThat(Set.copyOf(received)).as("every confirmed message is there").containsAll(confirmedIds);
        assertThat(received).as("none twice").doesNotHaveDuplicates();

        long longestGapMs = 0;
        List<Long> times = new ArrayList<>(confirmedAtNanos);
        Collections.sort(times);
        for (int i = 1; i < times.size(); i++) {
            long gapMs = (times.get(i) - times.get(i - 1)) / 1_000_000;
            if (gapMs > 300) {
                LOG.info(
                        "no confirm for {} ms, from {} ms after the first",
                        gapMs,
                        (times.get(i - 1) - times.get(0)) / 1_000_000);
            }
            longestGapMs = Math.max(longestGapMs, gapMs);
        }
        LOG.info("longest gap between confirms during the failovers: {} ms", longestGapMs);
    }

    /** Waits until {@code count} more confirms than now have arrived. */
    private static void awaitMoreConfirms(List<Long> confirmedAtNanos, int count) {
        int target = confirmedAtNanos.size() + count;
        Awaitility.await()
                .atMost(Duration.ofSeconds(120))
                .pollInterval(Duration.ofMillis(20))
                .until(() -> confirmedAtNanos.size() >= target);
    }

    private static long sinceFirstConfirm(List<Long> confirmedAtNanos) {
        synchronized (confirmedAtNanos) {
            return confirmedAtNanos.isEmpty() ? 0 : (System.nanoTime() - Collections.min(confirmedAtNanos)) / 1_000_000;
        }
    }

    private static String nodeId(int index) {
        return "n" + (index + 1);
    }

    private BrokerProcess startNode(int index) {
        try {
            return BrokerProcess.start(dir.resolve(nodeId(index)), "--node-id", nodeId(index), "--cluster", cluster);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static ConnectionFactory factory(BrokerProcess node) {
        ConnectionFactory factory = new ConnectionFactory();
        factory.setPort(node.amqpPort());
        factory.setAutomaticRecoveryEnabled(false);
        factory.setConnectionTimeout(2_000);
        return factory;
    }

    /** The publisher's connections: the node it used last if alive, else the next live one. */
    private Connection connectToAnyLiveNode() throws IOException, TimeoutException {
        IOException last = null;
        for (int attempt = 0; attempt < 3; attempt++) {
            int index = (connectedTo + attempt) % 3;
            BrokerProcess node = nodes[index];
            if (node == null || !node.alive()) {
                continue;
            }
            try {
                Connection connection = factory(node).newConnection();
                connectedTo = index;
                return connection;
            } catch (IOException e) {
                last = e;
            }
        }
        connectedTo = (connectedTo + 1) % 3;
        throw last != null ? last : new IOException("no live node to connect to");
    }

    /**
     * Waits until a restarted node has applied, in every group, what the cluster had committed
     * when it came back, as an operator waits before taking down the next node: with one node
     * down and the other still catching up there is no majority.
     */
    private void awaitCaughtUp(int restarted) throws Exception {
        Map<String, Long> committed = new java.util.HashMap<>();
        for (int i = 0; i < 3; i++) {
            if (i != restarted) {
                for (Map.Entry<String, Map<String, Long>> group :
                        raftGroups(nodes[i]).entrySet()) {
                    committed.merge(group.getKey(), group.getValue().get("commit"), Math::max);
                }
            }
        }
        Awaitility.await()
                .atMost(Duration.ofSeconds(120))
                .pollInterval(Duration.ofMillis(100))
                .until(() -> {
                    Map<String, Map<String, Long>> mine = raftGroups(nodes[restarted]);
                    return committed.entrySet().stream()
                            .allMatch(e -> mine.containsKey(e.getKey())
                                    && mine.get(e.getKey()).get("applied") >= e.getValue());
                });
    }

    private static final Pattern RAFT_GROUP =
            Pattern.compile("\\{\"name\":\"(g\\d+)\"[^}]*?\"commit_index\":(\\d+),\"applied_index\":(\\d+)");

    /** This node's Raft groups from /api/nodes: group to its commit and applied index. */
    private static Map<String, Map<String, Long>> raftGroups(BrokerProcess node) throws Exception {
        Map<String, Map<String, Long>> groups = new java.util.HashMap<>();
        Matcher matcher = RAFT_GROUP.matcher(get(node, "/api/nodes"));
        while (matcher.find()) {
            groups.put(
                    matcher.group(1),
                    Map.of("commit", Long.parseLong(matcher.group(2)), "applied", Long.parseLong(matcher.group(3))));
        }
        return groups;
    }

    private static String get(BrokerProcess node, String path) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.httpPort() + path))
                .header(
                        "Authorization",
                        "Basic " + Base64.getEncoder().encodeToString("guest:guest".getBytes(StandardCharsets.UTF_8)))
                .build();
        return HttpClient.newHttpClient()
                .send(request, HttpResponse.BodyHandlers.ofString())
                .body();
    }

    /** Asks a live node's management API which node leads the queue. */
    private int leaderIndex() throws Exception {
        String[] leader = new String[1];
        Awaitility.await()
                .atMost(Duration.ofSeconds(30))
                .pollInterval(Duration.ofMillis(100))
                .until(() -> {
                    for (BrokerProcess node : nodes) {
                        if (node == null || !node.alive()) {
                            continue;
                        }
                        Matcher matcher = LEADER.matcher(get(node, "/api/queues/%2F/" + QUEUE));
                        if (matcher.find()) {
                            leader[0] = matcher.group(1);
                            return true;
                        }
                    }
                    return false;
                });
        return Integer.parseInt(leader[0].substring(1)) - 1;
    }

    private static int otherThan(int a, int b) {
        for (int i = 0; i < 3; i++) {
            if (i != a && i != b) {
                return i;
            }
        }
        return (a + 1) % 3; // a == b: any other node
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
