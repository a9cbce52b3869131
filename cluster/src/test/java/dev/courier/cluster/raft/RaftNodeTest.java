package dev.courier.cluster.raft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Three {@link RaftNode}s in one JVM: ordering, failover, restart, snapshots, batching, threads. */
class RaftNodeTest {
    private static final Logger LOG = LoggerFactory.getLogger(RaftNodeTest.class);

    @TempDir
    Path dir;

    @Test
    void shouldApplyCommandsInTheSameOrderOnEveryReplica() throws Exception {
        try (TestCluster cluster = new TestCluster(dir, 3, TestCluster.testTuning()).startAll()) {
            for (String group : cluster.node("n1").groups()) {
                Map<String, CompletableFuture<byte[]>> submitted = new LinkedHashMap<>();
                for (int i = 0; i < 100; i++) {
                    for (String nodeId : cluster.nodeIds()) {
                        String command = nodeId + "-" + i;
                        submitted.put(command, cluster.node(nodeId).submit(group, bytes(command)));
                    }
                }
                List<String> applied = awaitApplied(cluster, group, submitted.size());
                for (Map.Entry<String, CompletableFuture<byte[]>> e : submitted.entrySet()) {
                    int position = Integer.parseInt(text(get(e.getValue())));
                    assertThat(applied.get(position)).isEqualTo(e.getKey());
                }
                for (String nodeId : cluster.nodeIds()) {
                    List<String> fromNode = applied.stream()
                            .filter(c -> c.startsWith(nodeId + "-"))
                            .toList();
                    List<String> inSubmitOrder = submitted.keySet().stream()
                            .filter(c -> c.startsWith(nodeId + "-"))
                            .toList();
                    assertThat(fromNode).isEqualTo(inSubmitOrder);
                }
                for (String nodeId : cluster.nodeIds()) {
                    assertThat(cluster.machine(nodeId, group).wentBackwards()).isFalse();
                }
            }
        }
    }

    @Test
    void shouldFailOnlyTheCommandsThatCannotBeApplied() throws Exception {
        try (TestCluster cluster = new TestCluster(dir, 3, TestCluster.testTuning()).startAll()) {
            RaftNode node = cluster.node("n2");
            CompletableFuture<byte[]> before = node.submit("g0", bytes("a"));
            CompletableFuture<byte[]> boom = node.submit("g0", bytes("boom"));
            CompletableFuture<byte[]> after = node.submit("g0", bytes("b"));
            assertThat(text(get(before))).isEqualTo("0");
            assertThatThrownBy(() -> get(boom))
                    .hasCauseInstanceOf(CommandFailedException.class)
                    .hasMessageContaining("boom rejected");
            assertThat(text(get(after))).isEqualTo("1");
            cluster.awaitReplicas("g0", List.of("a", "b"));
            assertThatThrownBy(() -> node.submit("nope", bytes("x"))).isInstanceOf(IllegalArgumentException.class);

            int largest = TestCluster.testTuning().maxCommandBytes();
            assertThatThrownBy(() -> get(node.submit("g0", new byte[largest + 1])))
                    .hasCauseInstanceOf(IllegalArgumentException.class);
            // A command far above the batch size travels alone in its entry.
            String big = "x".repeat(1024 * 1024);
            assertThat(text(get(node.submit("g0", bytes(big))))).isEqualTo("2");
            cluster.awaitReplicas("g0", List.of("a", "b", big));
        }
    }

    @Test
    void shouldSpreadGroupLeadersOverTheNodesAndTellTheMachines() {
        try (TestCluster cluster = new TestCluster(dir, 3, TestCluster.testTuning()).startAll()) {
            Map<String, String> expected = Map.of("g0", "n1", "g1", "n2", "g2", "n3");
            await().atMost(TestCluster.DEADLINE).untilAsserted(() -> {
                for (Map.Entry<String, String> e : expected.entrySet()) {
                    assertThat(cluster.awaitLeader(e.getKey())).isEqualTo(e.getValue());
                }
            });
            for (Map.Entry<String, String> e : expected.entrySet()) {
                for (String nodeId : cluster.nodeIds()) {
                    boolean leads = nodeId.equals(e.getValue());
                    assertThat(cluster.node(nodeId).isLeader(e.getKey())).isEqualTo(leads);
                    List<Boolean> calls = cluster.machine(nodeId, e.getKey()).leadershipCalls();
                    assertThat(calls.isEmpty() ? Boolean.FALSE : calls.get(calls.size() - 1))
                            .isEqualTo(leads);
                }
            }
            ClusterStatus.GroupStatus g1 = cluster.node("n2").status().group("g1");
            assertThat(g1.role()).isEqualTo("LEADER");
            assertThat(g1.leader()).contains("n2");
            await().atMost(TestCluster.DEADLINE)
                    .until(() -> cluster.node("n2").status().group("g1").peersUp(), p -> p.size() == 3);
        }
    }

    @Test
    void shouldKeepCompletingSubmitsThroughALeaderFailover() throws Exception {
        try (TestCluster cluster = new TestCluster(dir, 3, TestCluster.testTuning()).startAll()) {
            String group = "g0";
            String leader = cluster.awaitLeader(group);
            String via = cluster.nodeIds().stream()
                    .filter(n -> !n.equals(leader))
                    .findFirst()
                    .orElseThrow();
            RaftNode node = cluster.node(via);
            List<String> acknowledged = new ArrayList<>();
            long longestGapNs = 0;
            long lastAckNs = System.nanoTime();
            Thread killer = null;
            for (int i = 0; i < 250; i++) {
                if (i == 80) {
                    killer = new Thread(() -> cluster.stop(leader), "test-stop-leader");
                    killer.start();
                }
                String command = "c" + i;
                get(node.submit(group, bytes(command)));
                acknowledged.add(command);
                long now = System.nanoTime();
                longestGapNs = Math.max(longestGapNs, now - lastAckNs);
                lastAckNs = now;
            }
            killer.join(TimeUnit.SECONDS.toMillis(30));
            String newLeader = cluster.awaitLeader(group);
            assertThat(newLeader).isNotEqualTo(leader);
            LOG.info(
                    "failover: leader {} closed, new leader {}, longest gap between acks {} ms",
                    leader,
                    newLeader,
                    TimeUnit.NANOSECONDS.toMillis(longestGapNs));
            for (String nodeId : cluster.running()) {
                await().atMost(TestCluster.DEADLINE)
                        .until(() -> cluster.machine(nodeId, group).commands(), c -> c.containsAll(acknowledged));
                List<String> applied = cluster.machine(nodeId, group).commands();
                // A resend after the failover may commit a command twice; order of first sight holds.
                assertThat(new ArrayList<>(new java.util.LinkedHashSet<>(applied)))
                        .isEqualTo(acknowledged);
            }
        }
    }

    @Test
    void shouldProposeAgainOnceAMajorityIsBackAfterTheRatisClientGaveUp() throws Exception {
        RaftTuning tuning = TestCluster.testTuning().withRetries(1_000, 100, 500);
        try (TestCluster cluster = new TestCluster(dir, 3, tuning).startAll()) {
            RaftNode node = cluster.node("n1");
            get(node.submit("g0", bytes("before")));
            cluster.stop("n2");
            cluster.stop("n3");

            CompletableFuture<byte[]> withoutMajority = node.submit("g0", bytes("lost"));
            assertThatThrownBy(() -> withoutMajority.get(30, TimeUnit.SECONDS))
                    .as("the client gives up after its retry window")
                    .isInstanceOf(ExecutionException.class);
            CompletableFuture<byte[]> afterGivingUp = node.submit("g0", bytes("also lost"));
            assertThatThrownBy(() -> afterGivingUp.get(30, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class);

            cluster.start("n2");
            cluster.start("n3");
            await().atMost(TestCluster.DEADLINE).ignoreExceptions().until(() -> {
                get(node.submit("g0", bytes("after")));
                return true;
            });
            await().atMost(TestCluster.DEADLINE)
                    .until(() -> cluster.machine("n1", "g0").commands(), c -> c.contains("after"));
        }
    }

    @Test
    void shouldCatchUpThroughASnapshotInstallAfterARestart() throws Exception {
        RaftTuning tuning = TestCluster.testTuning().withSnapshots(20, 16 * 1024);
        try (TestCluster cluster = new TestCluster(dir, 3, tuning).startAll()) {
            String group = "g0";
            String leader = cluster.awaitLeader(group);
            String stopped = cluster.nodeIds().stream()
                    .filter(n -> !n.equals(leader))
                    .findFirst()
                    .orElseThrow();
            List<String> expected = new ArrayList<>();
            submitSequentially(cluster.node(leader), group, 0, 10, expected);
            cluster.awaitReplicas(group, expected);
            cluster.stop(stopped);

            // ~250-byte commands: 16 KiB log segments fill (and get purged) after ~60 entries.
            submitSequentially(cluster.node(leader), group, 10, 160, expected);
            long stoppedAt = 30;
            await().atMost(TestCluster.DEADLINE)
                    .until(() -> cluster.node(leader).status().group(group).logStartIndex(), s -> s > stoppedAt);

            cluster.start(stopped);
            cluster.awaitReplicas(group, expected);
            ListMachine restarted = cluster.machine(stopped, group);
            // Its own snapshot (taken at close) at start, then the leader's.
            assertThat(restarted.snapshotsRead()).isGreaterThanOrEqualTo(2);
            assertThat(restarted.appliesSinceStart()).isLessThan(150);
            LOG.info(
                    "restart: {} caught up applying {} commands after loading {} snapshots",
                    stopped,
                    restarted.appliesSinceStart(),
                    restarted.snapshotsRead());
        }
    }

    @Test
    void shouldRestoreFromItsOwnSnapshotPlusTheLogTail() throws Exception {
        // Big segments: nothing is purged, so the tail comes from the leader's log.
        RaftTuning tuning = TestCluster.testTuning().withSnapshots(50, 16L * 1024 * 1024);
        try (TestCluster cluster = new TestCluster(dir, 3, tuning).startAll()) {
            String group = "g1";
            String leader = cluster.awaitLeader(group);
            String restarted = cluster.nodeIds().stream()
                    .filter(n -> !n.equals(leader))
                    .findFirst()
                    .orElseThrow();
            List<String> expected = new ArrayList<>();
            submitSequentially(cluster.node(leader), group, 0, 120, expected);
            cluster.awaitReplicas(group, expected);
            cluster.stop(restarted);
            submitSequentially(cluster.node(leader), group, 120, 140, expected);

            cluster.start(restarted);
            cluster.awaitReplicas(group, expected);
            ListMachine machine = cluster.machine(restarted, group);
            assertThat(machine.snapshotsRead()).isEqualTo(1);
            assertThat(machine.appliesSinceStart()).isEqualTo(20);
            assertThat(machine.wentBackwards()).isFalse();
        }
    }

    @Test
    void shouldBatchManyConcurrentCommandsIntoFewEntries() throws Exception {
        try (TestCluster cluster = new TestCluster(dir, 3, TestCluster.testTuning()).startAll()) {
            String group = "g0";
            cluster.awaitLeader(group);
            RaftNode node = cluster.node("n2");
            int threads = 4;
            int perThread = 5000;
            List<CompletableFuture<byte[]>> futures = java.util.Collections.synchronizedList(new ArrayList<>());
            long startNs = System.nanoTime();
            List<Thread> submitters = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int id = t;
                Thread submitter = new Thread(
                        () -> {
                            for (int i = 0; i < perThread; i++) {
                                futures.add(node.submit(group, bytes("t" + id + "-" + i)));
                            }
                        },
                        "test-submitter-" + t);
                submitters.add(submitter);
                submitter.start();
            }
            for (Thread submitter : submitters) {
                submitter.join();
            }
            CompletableFuture.allOf(futures.toArray(new CompletableFuture<?>[0]))
                    .get(60, TimeUnit.SECONDS);
            long elapsedNs = System.nanoTime() - startNs;
            ClusterStatus.GroupStatus status = node.status().group(group);
            int commands = threads * perThread;
            assertThat(status.proposedCommands()).isEqualTo(commands);
            assertThat(status.proposedEntries()).isLessThan(commands / 4);
            double seconds = elapsedNs / 1e9;
            LOG.info(
                    "batching: {} commands in {} entries ({} per entry) in {} s: {} msgs/s, {} entries/s",
                    commands,
                    status.proposedEntries(),
                    String.format("%.1f", (double) commands / status.proposedEntries()),
                    String.format("%.2f", seconds),
                    Math.round(commands / seconds),
                    Math.round(status.proposedEntries() / seconds));
            for (String nodeId : cluster.nodeIds()) {
                await().atMost(TestCluster.DEADLINE)
                        .until(() -> cluster.machine(nodeId, group).size() == commands);
            }
            List<String> applied = cluster.machine("n1", group).commands();
            assertThat(cluster.machine("n2", group).commands()).isEqualTo(applied);
            assertThat(cluster.machine("n3", group).commands()).isEqualTo(applied);
        }
    }

    @Test
    void shouldRejoinWhenStoppedBeforeAnyLeaderWasElected() throws Exception {
        try (TestCluster cluster = new TestCluster(dir, 3, TestCluster.testTuning())) {
            cluster.start("n1");
            cluster.stop("n1");
            cluster.startAll();
            for (String group : cluster.node("n1").groups()) {
                get(cluster.node("n1").submit(group, bytes("x")));
                cluster.awaitReplicas(group, List.of("x"));
            }
        }
    }

    @Test
    void shouldLeaveNoThreadsRunningAfterClose() throws Exception {
        Set<String> before = liveThreadNames();
        try (TestCluster cluster = new TestCluster(dir, 3, TestCluster.testTuning()).startAll()) {
            get(cluster.node("n3").submit("g2", bytes("x")));
            assertThat(ourThreads(liveThreadNames())).isNotEmpty();
        }
        await().atMost(TestCluster.DEADLINE)
                .untilAsserted(() -> assertThat(ourThreads(liveThreadNames())).isEqualTo(ourThreads(before)));
        Set<String> left = liveThreadNames();
        left.removeAll(before);
        LOG.info("threads: after close, besides ours: {}", left);
    }

    @Test
    void shouldFailSubmitsAfterClose() {
        try (TestCluster cluster = new TestCluster(dir, 3, TestCluster.testTuning())) {
            RaftNode node = cluster.start("n1");
            node.close();
            assertThatThrownBy(() -> get(node.submit("g0", bytes("late"))))
                    .hasCauseInstanceOf(RaftNodeClosedException.class);
            assertThat(node.isLeader("g0")).isFalse();
            assertThat(node.status().group("g0").role()).isEqualTo("CLOSED");
        }
    }

    /** Threads named after our nodes, ours or Ratis'. */
    private static Set<String> ourThreads(Set<String> names) {
        Set<String> ours = new HashSet<>();
        for (String name : names) {
            if (name.startsWith("courier-raft-") || name.matches("(?s).*\\bn[123][@-].*")) {
                ours.add(name);
            }
        }
        return ours;
    }

    private static Set<String> liveThreadNames() {
        Set<String> names = new HashSet<>();
        for (Thread thread : Thread.getAllStackTraces().keySet()) {
            if (thread.isAlive()) {
                names.add(thread.getName());
            }
        }
        return names;
    }

    private static List<String> awaitApplied(TestCluster cluster, String group, int count) {
        for (String nodeId : cluster.nodeIds()) {
            await().atMost(TestCluster.DEADLINE)
                    .until(() -> cluster.machine(nodeId, group).size() == count);
        }
        List<String> applied = cluster.machine("n1", group).commands();
        for (String nodeId : cluster.nodeIds()) {
            assertThat(cluster.machine(nodeId, group).commands()).isEqualTo(applied);
        }
        return applied;
    }

    private static void submitSequentially(RaftNode node, String group, int from, int to, List<String> log)
            throws Exception {
        for (int i = from; i < to; i++) {
            String command = "c" + i + "-" + "x".repeat(240);
            get(node.submit(group, bytes(command)));
            log.add(command);
        }
    }

    private static byte[] get(CompletableFuture<byte[]> future)
            throws InterruptedException, ExecutionException, TimeoutException {
        return future.get(30, TimeUnit.SECONDS);
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static String text(byte[] bytes) {
        return new String(bytes, StandardCharsets.UTF_8);
    }
}
