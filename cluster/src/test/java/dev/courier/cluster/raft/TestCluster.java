package dev.courier.cluster.raft;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import org.apache.ratis.util.ExitUtils;

/**
 * Three (or more) {@link RaftNode}s in this JVM on 127.0.0.1, each with its own data directory
 * under a temp dir and {@link ListMachine}s as state machines; nodes can be stopped and started
 * again on the same directory. Used from the test thread only.
 */
final class TestCluster implements AutoCloseable {
    static {
        // a Ratis server that cannot start fails its test instead of exiting the test JVM
        ExitUtils.disableSystemExit();
    }

    static final Duration DEADLINE = Duration.ofSeconds(30);

    private final Path root;
    private final RaftTuning tuning;
    private final Map<String, InetSocketAddress> peers;
    private final Map<String, RaftNode> nodes = new ConcurrentHashMap<>();
    private final Map<String, Map<String, ListMachine>> machines = new ConcurrentHashMap<>();

    TestCluster(Path root, int size, RaftTuning tuning) {
        this.root = root;
        this.tuning = tuning;
        this.peers = new LinkedHashMap<>();
        for (int i = 1; i <= size; i++) {
            peers.put("n" + i, new InetSocketAddress("127.0.0.1", freePort()));
        }
    }

    /** Election timeouts short enough for quick tests, long enough for a busy 2-core machine. */
    static RaftTuning testTuning() {
        return RaftTuning.defaults().withElectionTimeoutsMs(300, 600);
    }

    List<String> nodeIds() {
        return new ArrayList<>(peers.keySet());
    }

    /** Starts every node and waits for each group's preferred leader. */
    TestCluster startAll() {
        peers.keySet().forEach(this::start);
        awaitPreferredLeaders();
        return this;
    }

    RaftNode start(String nodeId) {
        Map<String, ListMachine> own = new ConcurrentHashMap<>();
        machines.put(nodeId, own);
        ClusterConfig config = new ClusterConfig(nodeId, peers, root.resolve(nodeId), 0, tuning);
        try {
            RaftNode node = RaftNode.start(config, group -> own.computeIfAbsent(group, g -> new ListMachine()));
            nodes.put(nodeId, node);
            return node;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    void stop(String nodeId) {
        RaftNode node = nodes.remove(nodeId);
        if (node != null) {
            node.close();
        }
    }

    RaftNode node(String nodeId) {
        RaftNode node = nodes.get(nodeId);
        if (node == null) {
            throw new IllegalStateException(nodeId + " is not running");
        }
        return node;
    }

    /** The machine of {@code group} on the running instance of {@code nodeId}. */
    ListMachine machine(String nodeId, String group) {
        return machines.get(nodeId).get(group);
    }

    List<String> running() {
        return nodes.keySet().stream().sorted().toList();
    }

    /** Waits until every running node agrees on one leader for {@code group}, which applied its entries. */
    String awaitLeader(String group) {
        return await().atMost(DEADLINE)
                .until(() -> agreedLeader(group), Optional::isPresent)
                .orElseThrow();
    }

    /**
     * Waits until every group is led by the node it prefers ({@code g0} by {@code n1}, …). Tests that
     * expect each command exactly once start from there: a leader handing over to the preferred node
     * while a command is in flight can make the client resend a command that also commits.
     */
    void awaitPreferredLeaders() {
        List<String> ids = running();
        for (int i = 0; i < ids.size(); i++) {
            String group = GroupLayout.groupName(i);
            String preferred = ids.get(i);
            await().atMost(DEADLINE).until(() -> agreedLeader(group), leader -> leader.equals(Optional.of(preferred)));
        }
    }

    private Optional<String> agreedLeader(String group) {
        String leader = null;
        for (RaftNode node : nodes.values()) {
            Optional<String> seen = node.leaderOf(group);
            if (seen.isEmpty() || (leader != null && !leader.equals(seen.get()))) {
                return Optional.empty();
            }
            leader = seen.get();
        }
        if (leader == null || !nodes.containsKey(leader) || !nodes.get(leader).isLeader(group)) {
            return Optional.empty();
        }
        return Optional.of(leader);
    }

    /** Waits until every running replica of {@code group} holds exactly {@code expected}. */
    void awaitReplicas(String group, List<String> expected) {
        for (String nodeId : running()) {
            await().atMost(DEADLINE).until(() -> machine(nodeId, group).commands(), expected::equals);
        }
    }

    /** Stops the running nodes in parallel (a Ratis server takes about a second to close). */
    @Override
    public void close() {
        List<Thread> stoppers = new ArrayList<>();
        for (String nodeId : running()) {
            Thread stopper = new Thread(() -> stop(nodeId), "test-stop-" + nodeId);
            stopper.start();
            stoppers.add(stopper);
        }
        for (Thread stopper : stoppers) {
            try {
                stopper.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
    }

    /**
     * A free port below Linux's ephemeral range (32768-60999): a port picked inside it may be taken
     * by another node's outgoing connection before its server binds it, and Ratis exits the JVM
     * when its server cannot bind.
     */
    static int freePort() {
        for (int attempt = 0; attempt < 1_000; attempt++) {
            int port = ThreadLocalRandom.current().nextInt(20_000, 32_000);
            try (ServerSocket socket = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
                return socket.getLocalPort();
            } catch (IOException taken) {
                // try another
            }
        }
        throw new IllegalStateException("no free port between 20000 and 32000");
    }
}
