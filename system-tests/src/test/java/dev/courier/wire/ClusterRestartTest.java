package dev.courier.wire;

import static dev.courier.wire.Wire.bytes;
import static dev.courier.wire.Wire.text;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.MessageProperties;
import dev.courier.broker.Binding;
import dev.courier.broker.Exchange;
import dev.courier.broker.VirtualHost;
import dev.courier.cluster.raft.RaftNode;
import dev.courier.server.CourierServer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node that was down while definitions changed (deletions included) comes back with the
 * cluster's current definitions, from the metadata group's log or from a snapshot; what it had
 * before (in its own log, snapshot or store) does not come back.
 */
class ClusterRestartTest {
    static {
        LeakTracker.install();
    }

    private static final Duration DEADLINE = Duration.ofSeconds(60);
    private static final Map<String, Object> QUORUM = Map.of("x-queue-type", "quorum");

    @TempDir
    Path dir;

    private ThreeNodeCluster cluster;

    @AfterEach
    void stopCluster() {
        if (cluster != null) {
            cluster.close();
        }
    }

    private VirtualHost vhost(int node) {
        return cluster.node(node).broker().vhost("/");
    }

    private static List<String> boundTo(Exchange exchange) {
        return exchange == null
                ? List.of()
                : exchange.bindings().stream()
                        .map(Binding::destinationName)
                        .sorted()
                        .toList();
    }

    /** Definitions made through node 1 before node 3 stops. */
    private void defineBeforeTheStop() throws Exception {
        Channel channel = cluster.connect(0).createChannel();
        channel.exchangeDeclare("keep", "direct", true);
        channel.exchangeDeclare("gone", "fanout", true);
        channel.queueDeclare("q", true, false, false, QUORUM);
        channel.queueDeclare("classic.on.n3.later", true, false, false, null);
        channel.queueBind("q", "keep", "k");
        channel.queueBind("q", "gone", "");
        assertThat(cluster.admin(0, "PUT", "/api/users/carol", Map.of("password", "pw", "tags", "")))
                .isEqualTo(201);
        assertThat(cluster.admin(0, "PUT", "/api/vhosts/v1", null)).isEqualTo(201);
        await().atMost(DEADLINE)
                .until(() -> boundTo(vhost(2).exchange("gone")).equals(List.of("q"))
                        && cluster.node(2).users().user("carol") != null
                        && cluster.node(2).broker().vhost("v1") != null);
    }

    /** Changes made through node 2 while node 3 is down. */
    private void changeWhileDown() throws Exception {
        Channel channel = cluster.connect(1).createChannel();
        channel.exchangeDelete("gone");
        channel.queueUnbind("q", "keep", "k");
        channel.exchangeDelete("keep");
        channel.exchangeDeclare("keep", "fanout", true); // same name, another definition
        channel.exchangeDeclare("fresh", "topic", true);
        channel.queueBind("q", "fresh", "#");
        assertThat(cluster.admin(1, "DELETE", "/api/users/carol", null)).isEqualTo(204);
        assertThat(cluster.admin(1, "PUT", "/api/users/dave", Map.of("password", "pw", "tags", "")))
                .isEqualTo(201);
        assertThat(cluster.admin(1, "DELETE", "/api/vhosts/v1", null)).isEqualTo(204);
    }

    private void assertCurrentDefinitionsOnTheRestartedNode() throws Exception {
        await().atMost(DEADLINE)
                .until(() -> vhost(2).exchange("gone") == null
                        && boundTo(vhost(2).exchange("fresh")).equals(List.of("q")));
        assertThat(boundTo(vhost(2).exchange("keep"))).isEmpty();
        assertThat(vhost(2).exchange("keep").type()).isEqualTo("fanout");
        CourierServer restarted = cluster.node(2);
        assertThat(restarted.users().user("carol")).isNull();
        assertThat(restarted.users().user("dave")).isNotNull();
        assertThat(restarted.broker().vhost("v1")).isNull();

        // and it routes with them
        Channel publisher = cluster.connect(2).createChannel();
        publisher.confirmSelect();
        publisher.basicPublish("fresh", "a.b", MessageProperties.PERSISTENT_BASIC, bytes("after restart"));
        publisher.waitForConfirmsOrDie(10_000);
        assertThat(text(Wire.getEventually(cluster.connect(0).createChannel(), "q")
                        .getBody()))
                .isEqualTo("after restart");
    }

    @Test
    void shouldCatchUpFromTheMetadataLogAfterARestart() throws Exception {
        cluster = new ThreeNodeCluster(dir).start();
        defineBeforeTheStop();
        cluster.stop(2);

        changeWhileDown();
        cluster.restart(2);

        assertCurrentDefinitionsOnTheRestartedNode();
    }

    @Test
    void shouldCatchUpFromASnapshotWhenTheLogItMissedIsGone() throws Exception {
        // small snapshots and segments: the others purge the entries node 3 missed
        cluster = new ThreeNodeCluster(
                        dir, Map.of("cluster.snapshot_entries", "20", "cluster.log_segment_bytes", "16384"))
                .start();
        defineBeforeTheStop();
        cluster.stop(2);

        changeWhileDown();
        Channel channel = cluster.connect(0).createChannel();
        RaftNode raft = cluster.node(0).broker().quorumQueues().clusterOrNull().raft();
        long startBefore = raft.status().group(RaftNode.META_GROUP).logStartIndex();
        for (int i = 0; raft.status().group(RaftNode.META_GROUP).logStartIndex() <= startBefore + 50; i++) {
            channel.exchangeDeclare("filler-" + i, "direct", true);
            channel.exchangeDelete("filler-" + i);
            assertThat(i).as("the metadata log was never purged").isLessThan(2_000);
        }
        cluster.restart(2);

        assertCurrentDefinitionsOnTheRestartedNode();
        assertThat(vhost(2).exchanges()).noneMatch(x -> x.name().startsWith("filler-"));
    }

    @Test
    void shouldLetAUserAddedWhileANodeWasDownLogInThroughItOnceItIsBack() throws Exception {
        cluster = new ThreeNodeCluster(dir).start();
        cluster.stop(1);
        assertThat(cluster.admin(0, "PUT", "/api/users/erin", Map.of("password", "pw", "tags", "")))
                .isEqualTo(201);
        assertThat(cluster.admin(
                        2, "PUT", "/api/permissions/%2F/erin", Map.of("configure", ".*", "write", ".*", "read", ".*")))
                .isEqualTo(201);

        cluster.restart(1);

        await().atMost(DEADLINE).until(() -> cluster.node(1).users().permission("/", "erin") != null);
        try (Connection connection = cluster.connect(1, "/", "erin", "pw")) {
            assertThat(connection.isOpen()).isTrue();
        }
    }

    @Test
    void shouldKeepADurableClassicQueueAndItsMessagesInAVhostAcrossItsNodesRestart() throws Exception {
        cluster = new ThreeNodeCluster(dir).start();
        assertThat(cluster.admin(0, "PUT", "/api/vhosts/tenant", null)).isEqualTo(201);
        await().atMost(DEADLINE).until(() -> cluster.node(2).users().permission("tenant", "guest") != null);
        try (Connection connection = cluster.connect(2, "tenant", "guest", "guest")) {
            Channel channel = connection.createChannel();
            channel.exchangeDeclare("in", "direct", true);
            channel.queueDeclare("stored", true, false, false, null);
            channel.queueBind("stored", "in", "k");
            channel.confirmSelect();
            channel.basicPublish("in", "k", MessageProperties.PERSISTENT_BASIC, bytes("kept"));
            channel.waitForConfirmsOrDie(10_000);
        }

        cluster.stop(2);
        cluster.restart(2);

        await().atMost(DEADLINE).until(() -> cluster.node(2).broker().vhost("tenant") != null);
        try (Connection connection = cluster.connect(2, "tenant", "guest", "guest")) {
            Channel channel = connection.createChannel();
            assertThat(text(Wire.getEventually(channel, "stored").getBody())).isEqualTo("kept");
            await().atMost(DEADLINE).until(() -> !boundTo(
                            cluster.node(2).broker().vhost("tenant").exchange("in"))
                    .isEmpty());
            channel.basicPublish("in", "k", MessageProperties.PERSISTENT_BASIC, bytes("again"));
            assertThat(text(Wire.getEventually(channel, "stored").getBody())).isEqualTo("again");
        }
    }
}
