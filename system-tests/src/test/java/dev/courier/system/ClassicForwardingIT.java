package dev.courier.system;

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
 * Three real broker processes and a durable classic queue on node 1, published to through node 2
 * (which forwards to node 1) and consumed through node 3: kill -9 node 1 mid-stream and restart
 * it. Node 2 nacks what it cannot forward meanwhile, the publisher publishes it again (same
 * message id, the queue deduplicates), and every confirmed message is consumed once.
 */
@Tag("system")
class ClassicForwardingIT {
    private static final Logger LOG = LoggerFactory.getLogger(ClassicForwardingIT.class);
    static final String QUEUE = "forwarded";

    @TempDir
    Path dir;

    @Test
    void shouldLoseNothingConfirmedThroughAnotherNodeWhenTheQueuesNodeIsKilled() throws Exception {
        try (ProcessCluster cluster = ProcessCluster.onLoopback(dir)) {
            cluster.startAll();
            try (Connection setup = cluster.factory(0).newConnection()) {
                setup.createChannel().queueDeclare(QUEUE, true, false, false, Map.of("x-message-deduplication", true));
            }
            cluster.preferNode(1);
            Set<String> confirmed;
            long longestGapMs;
            ConfirmingPublisher publisher = ConfirmingPublisher.builder(cluster::connectToAnyLiveNode)
                    .reconnectBackoff(Duration.ofMillis(50), Duration.ofMillis(500))
                    .maxAttempts(1_000)
                    .retryNacked(true)
                    .start();
            try (ConfirmedLoad load = new ConfirmedLoad(publisher, QUEUE, 10)) {
                load.awaitMoreConfirms(500);
                LOG.info("killing the queue's node n1 at {} ms", load.sinceFirstConfirm());
                cluster.kill(0);
                cluster.restart(0);
                cluster.awaitCaughtUp(0);
                load.awaitMoreConfirms(500);
                confirmed = load.stopAndAwaitConfirms();
                longestGapMs = load.longestGapMs();
                LOG.info("{} nacks while the queue's node was away", publisher.nackCount());
            }
            ConfirmedLoad.assertAllThereOnce(cluster.factory(2), QUEUE, confirmed);
            LOG.info("longest gap between confirms while the queue's node restarted: {} ms", longestGapMs);
        }
    }
}
