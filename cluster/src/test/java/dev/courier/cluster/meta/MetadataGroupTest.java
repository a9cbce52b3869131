package dev.courier.cluster.meta;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.courier.cluster.raft.ClusterConfig;
import dev.courier.cluster.raft.RaftNode;
import dev.courier.cluster.raft.RaftTuning;
import dev.courier.cluster.raft.ReplicatedStateMachine;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.apache.ratis.util.ExitUtils;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The metadata group on three real Raft nodes in this JVM: submit anywhere, applied everywhere. */
class MetadataGroupTest {
    static {
        ExitUtils.disableSystemExit();
    }

    private static final Duration DEADLINE = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    private final Map<String, InetSocketAddress> peers = new LinkedHashMap<>();
    private final Map<String, RaftNode> nodes = new ConcurrentHashMap<>();
    private final Map<String, ReplicatedMetadata> metadata = new ConcurrentHashMap<>();
    private final Map<String, RecordingListener> listeners = new ConcurrentHashMap<>();
    private RaftTuning tuning = RaftTuning.defaults().withElectionTimeoutsMs(300, 600);

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private void startAll() throws IOException {
        for (int i = 1; i <= 3; i++) {
            peers.put("n" + i, new InetSocketAddress("127.0.0.1", freePort()));
        }
        for (String node : peers.keySet()) {
            start(node);
        }
    }

    private void start(String node) throws IOException {
        RecordingListener listener = new RecordingListener();
        ReplicatedMetadata meta = new ReplicatedMetadata(listener);
        ClusterConfig config = new ClusterConfig(node, peers, dir.resolve(node), 1, tuning);
        RaftNode raft =
                RaftNode.start(config, group -> group.equals(RaftNode.META_GROUP) ? meta.machine() : new Idle());
        meta.attach(raft);
        nodes.put(node, raft);
        metadata.put(node, meta);
        listeners.put(node, listener);
    }

    private void stop(String node) {
        RaftNode raft = nodes.remove(node);
        raft.close();
        metadata.remove(node).close();
    }

    @AfterEach
    void stopAll() {
        List.copyOf(nodes.keySet()).forEach(this::stop);
    }

    private MetaResult submit(String node, MetaOp... ops) throws Exception {
        return metadata.get(node).submit(MetaBatch.of(ops)).get(30, TimeUnit.SECONDS);
    }

    @Test
    void shouldApplyABatchSubmittedOnAnyNodeOnEveryNodeAndLocallyBeforeItCompletes() throws Exception {
        startAll();
        assertThat(nodes.get("n1").groups()).containsExactly("g0");

        MetaResult result = submit("n3", new MetaOp.Put("vhost/a", bytes("")), new MetaOp.Put("user/u", bytes("x")));

        assertThat(result.applied()).isTrue();
        assertThat(listeners.get("n3").texts()).isEqualTo(Map.of("vhost/a", "", "user/u", "x"));
        assertThat(metadata.get("n3").get("user/u")).isEqualTo(bytes("x"));
        for (String node : peers.keySet()) {
            await().atMost(DEADLINE)
                    .until(() -> listeners.get(node).texts(), m -> m.equals(Map.of("vhost/a", "", "user/u", "x")));
        }
        assertThat(nodes.get("n2").status().group(RaftNode.META_GROUP)).isNotNull();
    }

    @Test
    void shouldLetTheFirstOfTwoConflictingDeclaresWinAndTellTheOtherWhatIsInForce() throws Exception {
        startAll();
        var first = metadata.get("n1").submit(MetaBatch.of(new MetaOp.PutIfAbsent("exchange/x", bytes("direct"))));
        var second = metadata.get("n2").submit(MetaBatch.of(new MetaOp.PutIfAbsent("exchange/x", bytes("fanout"))));
        MetaResult one = first.get(30, TimeUnit.SECONDS);
        MetaResult two = second.get(30, TimeUnit.SECONDS);

        MetaResult winner = one.index() < two.index() ? one : two;
        MetaResult loser = winner == one ? two : one;
        assertThat(winner.applied()).isTrue();
        assertThat(loser.applied()).isFalse();
        String inForce = new String(loser.inForce(), StandardCharsets.UTF_8);
        assertThat(inForce).isIn("direct", "fanout");
        for (String node : peers.keySet()) {
            await().atMost(DEADLINE)
                    .until(() -> listeners.get(node).texts(), m -> m.equals(Map.of("exchange/x", inForce)));
        }
    }

    @Test
    void shouldShowANodeThatWasDownTheDeletionsMadeMeanwhileFromTheLogOrASnapshot() throws Exception {
        // small segments and frequent snapshots: the leader purges what the stopped node missed
        tuning = tuning.withSnapshots(20, 16 * 1024);
        startAll();
        submit("n1", new MetaOp.Put("exchange/keep", bytes("k")), new MetaOp.Put("exchange/gone", bytes("g")));
        await().atMost(DEADLINE).until(() -> listeners.get("n3").texts().size() == 2);
        stop("n3");

        submit("n2", new MetaOp.Delete("exchange/gone"));
        for (int i = 0; i < 150; i++) {
            submit("n1", new MetaOp.Put("filler/" + i, new byte[200]), new MetaOp.Delete("filler/" + i));
        }
        submit("n1", new MetaOp.Put("exchange/new", bytes("n")));

        start("n3");
        await().atMost(DEADLINE)
                .until(
                        () -> listeners.get("n3").texts(),
                        m -> m.equals(Map.of("exchange/keep", "k", "exchange/new", "n")));
        assertThat(metadata.get("n3").prefix("exchange/").keySet()).containsExactly("exchange/keep", "exchange/new");
    }

    /** A queue group that does nothing. */
    private static final class Idle implements ReplicatedStateMachine {
        @Override
        public byte[] apply(long index, long timeMs, byte[] command, boolean leader) {
            return new byte[0];
        }

        @Override
        public void writeSnapshot(OutputStream out) {}

        @Override
        public void readSnapshot(InputStream in) {}
    }

    private static int freePort() {
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
