package dev.courier.system;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Three broker processes, each in a network namespace of its own ({@link Netns}; skipped where
 * this machine cannot create them): the quorum queue's leader is cut off the network while a
 * publisher keeps publishing through another node, then joins again; then a follower. Nothing
 * confirmed is lost and, with deduplication and the publisher's retries, nothing is duplicated.
 * Reports the longest gap between confirms.
 */
@Tag("system")
class PartitionIT {
    private static final Logger LOG = LoggerFactory.getLogger(PartitionIT.class);

    @TempDir
    Path dir;

    @Test
    void shouldLoseNothingConfirmedWhenTheLeaderAndThenAFollowerAreCutOff() throws Exception {
        assumeTrue(Netns.available(), "needs root and iproute2 to create network namespaces");
        try (Netns net = Netns.create(ProcessCluster.SIZE);
                ProcessCluster cluster = new ProcessCluster(
                        dir,
                        java.util.List.of(net.address(0), net.address(1), net.address(2)),
                        net::prefix,
                        "--set",
                        "loopback_users=false")) { // the test connects from the bridge, not loopback
            cluster.startAll();
            QuorumFailoverIT.declareQueue(cluster, 0);
            int leader = cluster.leaderIndex(QuorumFailoverIT.QUEUE);
            cluster.preferNode(ProcessCluster.otherThan(leader, leader)); // publish through a follower
            Set<String> confirmed;
            long longestGapMs;
            try (ConfirmedLoad load = QuorumFailoverIT.startLoad(cluster)) {
                load.awaitMoreConfirms(500);

                LOG.info("cutting off the leader {} at {} ms", ProcessCluster.nodeId(leader), load.sinceFirstConfirm());
                cluster.reachable(leader, false);
                net.cut(leader);
                load.awaitMoreConfirms(500); // the other two elected a leader and go on
                assertThat(cluster.leaderIndex(QuorumFailoverIT.QUEUE)).isNotEqualTo(leader);
                net.heal(leader);
                cluster.reachable(leader, true);
                cluster.awaitCaughtUp(leader);
                load.awaitMoreConfirms(500);

                int follower =
                        ProcessCluster.otherThan(cluster.leaderIndex(QuorumFailoverIT.QUEUE), cluster.connectedTo());
                LOG.info(
                        "cutting off the follower {} at {} ms",
                        ProcessCluster.nodeId(follower),
                        load.sinceFirstConfirm());
                cluster.reachable(follower, false);
                net.cut(follower);
                load.awaitMoreConfirms(500);
                net.heal(follower);
                cluster.reachable(follower, true);
                cluster.awaitCaughtUp(follower);
                load.awaitMoreConfirms(500);

                confirmed = load.stopAndAwaitConfirms();
                longestGapMs = load.longestGapMs();
            }
            ConfirmedLoad.assertAllThereOnce(cluster.factory(cluster.connectedTo()), QuorumFailoverIT.QUEUE, confirmed);
            LOG.info("longest gap between confirms during the partitions: {} ms", longestGapMs);
        }
    }
}
