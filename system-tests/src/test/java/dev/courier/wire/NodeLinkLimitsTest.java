package dev.courier.wire;

import static dev.courier.wire.Wire.bytes;
import static dev.courier.wire.Wire.text;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.rabbitmq.client.Channel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A node at its client connection limit still serves its classic queues to the other nodes. */
class NodeLinkLimitsTest {
    static {
        LeakTracker.install();
    }

    @TempDir
    Path dir;

    @Test
    void shouldAcceptAnotherNodesLinkAtTheConnectionLimit() throws Exception {
        try (ThreeNodeCluster cluster = new ThreeNodeCluster(dir, Map.of("max_connections", "1")).start()) {
            Channel owner = cluster.connect(0).createChannel(); // node 1's one client connection
            owner.queueDeclare("busy.q", true, false, false, null);
            await().atMost(Duration.ofSeconds(30))
                    .until(() -> cluster.node(1).broker().vhost("/").findQueue("busy.q") != null);

            Channel publisher = cluster.connect(1).createChannel();
            publisher.confirmSelect();
            publisher.basicPublish("", "busy.q", null, bytes("through node 2"));

            assertThat(publisher.waitForConfirms(30_000))
                    .as("node 1 took node 2's link")
                    .isTrue();
            assertThat(text(Wire.getEventually(owner, "busy.q").getBody())).isEqualTo("through node 2");
        }
    }
}
