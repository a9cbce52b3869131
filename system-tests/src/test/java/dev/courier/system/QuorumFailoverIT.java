package dev.courier.system;

import static org.assertj.core.api.Assertions.assertThat;

import com.rabbitmq.client.Connection;
import dev.courier.client.ConfirmingPublisher;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Three real broker processes with a quorum queue: kill -9 the queue's leader, then a follower,
 * then the node the publisher is connected to, restarting each; then freeze the leader with
 * SIGSTOP and thaw it. A publisher that retries with the same message ids on a queue with
 * deduplication loses nothing confirmed and duplicates nothing. Reports the longest gap between
 * confirms. ({@link PartitionIT} cuts nodes off the network instead.)
 */
@Tag("system")
class QuorumFailoverIT {
    private static final Logger LOG = LoggerFactory.getLogger(QuorumFailoverIT.class);
    static final String QUEUE = "ha";
    static final int OUTSTANDING = 10;

    @TempDir
    Path dir;

    @Test
    void shouldLoseNothingConfirmedWhileLeaderFollowerAndClientNodeAreKilled() throws Exception {
        try (ProcessCluster cluster = ProcessCluster.onLoopback(dir)) {
            cluster.startAll();
            declareQueue(cluster, 0);
            Set<String> confirmed;
            long longestGapMs;
            try (ConfirmedLoad load = startLoad(cluster)) {
                load.awaitMoreConfirms(500);

                int leader = cluster.leaderIndex(QUEUE);
                LOG.info("killing the leader {} at {} ms", ProcessCluster.nodeId(leader), load.sinceFirstConfirm());
                cluster.kill(leader);
                load.awaitMoreConfirms(500);
                cluster.restart(leader);
                cluster.awaitCaughtUp(leader);
                load.awaitMoreConfirms(500);

                int follower = ProcessCluster.otherThan(cluster.leaderIndex(QUEUE), cluster.connectedTo());
                LOG.info("killing the follower {} at {} ms", ProcessCluster.nodeId(follower), load.sinceFirstConfirm());
                cluster.kill(follower);
                load.awaitMoreConfirms(500);
                cluster.restart(follower);
                cluster.awaitCaughtUp(follower);
                load.awaitMoreConfirms(500);

                int clientNode = cluster.connectedTo();
                LOG.info(
                        "killing the publisher's node {} at {} ms",
                        ProcessCluster.nodeId(clientNode),
                        load.sinceFirstConfirm());
                cluster.kill(clientNode);
                load.awaitMoreConfirms(500);
                cluster.restart(clientNode);
                cluster.awaitCaughtUp(clientNode);
                load.awaitMoreConfirms(500);

                // a frozen leader (SIGSTOP): the others elect a new one and go on; once thawed it
                // finds itself a follower and catches up
                int leaderNow = cluster.leaderIndex(QUEUE);
                int frozen = leaderNow != cluster.connectedTo()
                        ? leaderNow
                        : ProcessCluster.otherThan(leaderNow, cluster.connectedTo());
                LOG.info("pausing {} at {} ms", ProcessCluster.nodeId(frozen), load.sinceFirstConfirm());
                cluster.reachable(frozen, false);
                cluster.node(frozen).pause();
                try {
                    load.awaitMoreConfirms(500);
                } finally {
                    cluster.node(frozen).resume();
                    cluster.reachable(frozen, true);
                }
                cluster.awaitCaughtUp(frozen);
                load.awaitMoreConfirms(500);

                confirmed = load.stopAndAwaitConfirms();
                assertThat(load.reconnects()).isPositive();
                longestGapMs = load.longestGapMs();
            }
            ConfirmedLoad.assertAllThereOnce(cluster.factory(2), QUEUE, confirmed);
            LOG.info("longest gap between confirms during the failovers: {} ms", longestGapMs);
        }
    }

    static void declareQueue(ProcessCluster cluster, int node) throws Exception {
        try (Connection setup = cluster.factory(node).newConnection()) {
            setup.createChannel()
                    .queueDeclare(
                            QUEUE,
                            true,
                            false,
                            false,
                            Map.of("x-queue-type", "quorum", "x-message-deduplication", true));
        }
    }

    static ConfirmedLoad startLoad(ProcessCluster cluster) throws Exception {
        ConfirmingPublisher publisher = ConfirmingPublisher.builder(cluster::connectToAnyLiveNode)
                .reconnectBackoff(Duration.ofMillis(50), Duration.ofMillis(500))
                .maxAttempts(1_000)
                .start();
        return new ConfirmedLoad(publisher, QUEUE, OUTSTANDING);
    }
}
