package dev.courier.wire;

import static dev.courier.wire.Wire.bytes;
import static dev.courier.wire.Wire.text;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Another node's link is not a client: a node at its client connection limit still serves its
 * classic queues to the other nodes, and operators neither see the link nor have it counted.
 */
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

    @Test
    void shouldNeitherListNorCountAnotherNodesLinkAsAClient() throws Exception {
        try (ThreeNodeCluster cluster = new ThreeNodeCluster(dir, Map.of("max_connections", "1")).start()) {
            Connection first = cluster.connect(0);
            first.createChannel().queueDeclare("linked.q", true, false, false, null);
            await().atMost(Duration.ofSeconds(30))
                    .until(() -> cluster.node(1).broker().vhost("/").findQueue("linked.q") != null);
            Channel publisher = cluster.connect(1).createChannel();
            publisher.confirmSelect();
            publisher.basicPublish("", "linked.q", null, bytes("through node 2"));
            assertThat(publisher.waitForConfirms(30_000)).isTrue(); // node 2's link to node 1 is open

            int httpPort = cluster.node(0).httpPort();
            JsonNode listed = new ObjectMapper().readTree(Wire.guestGet(httpPort, "/api/connections"));
            assertThat(listed).hasSize(1);
            assertThat(listed.get(0).get("user").asText()).isEqualTo("guest");
            assertThat(new ObjectMapper()
                            .readTree(Wire.guestGet(httpPort, "/api/overview"))
                            .get("object_totals")
                            .get("connections")
                            .asInt())
                    .isEqualTo(1);
            assertThat(Wire.guestGet(httpPort, "/metrics")).contains("courier_connections 1.0");
            assertThat(cluster.node(0).connectionCount()).isEqualTo(1);

            // the link does not take the one client connection node 1 allows
            first.close();
            await().until(() -> cluster.node(0).connectionCount() == 0);
            Channel second = cluster.connect(0).createChannel();
            assertThat(text(Wire.getEventually(second, "linked.q").getBody())).isEqualTo("through node 2");
        }
    }
}
