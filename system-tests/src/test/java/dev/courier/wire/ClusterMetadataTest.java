package dev.courier.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Users, permissions and vhosts on a three-node cluster: changed through one node's management
 * API, in force on every node (through the cluster's metadata group).
 */
class ClusterMetadataTest {
    static {
        LeakTracker.install();
    }

    private static final Duration DEADLINE = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    private ThreeNodeCluster cluster;

    @BeforeEach
    void startCluster() throws Exception {
        cluster = new ThreeNodeCluster(dir).start();
    }

    @AfterEach
    void stopCluster() {
        cluster.close();
    }

    private boolean canLogIn(int node, String vhost, String user, String password) throws Exception {
        try (Connection connection = cluster.connect(node, vhost, user, password)) {
            return connection.isOpen();
        } catch (java.io.IOException refused) { // AuthenticationFailureException, or access refused to the vhost
            return false;
        }
    }

    @Test
    void shouldLetTheDefaultUserLogInThroughEveryNode() throws Exception {
        for (int n = 0; n < 3; n++) {
            assertThat(canLogIn(n, "/", "guest", "guest"))
                    .as("guest through node %d", n + 1)
                    .isTrue();
            assertThat(cluster.node(n).users().users())
                    .extracting(u -> u.name())
                    .containsExactly("guest");
        }
    }

    @Test
    void shouldLetAUserAddedThroughOneNodeLogInThroughAnotherUntilItIsDeletedThroughTheThird() throws Exception {
        assertThat(cluster.admin(0, "PUT", "/api/users/alice", Map.of("password", "secret", "tags", "")))
                .isEqualTo(201);
        assertThat(cluster.admin(
                        0, "PUT", "/api/permissions/%2F/alice", Map.of("configure", ".*", "write", ".*", "read", ".*")))
                .isEqualTo(201);

        await().atMost(DEADLINE).until(() -> canLogIn(1, "/", "alice", "secret"));
        try (Connection connection = cluster.connect(1, "/", "alice", "secret")) {
            Channel channel = connection.createChannel();
            channel.queueDeclare("alice-q", false, false, true, null);
        }
        assertThat(canLogIn(1, "/", "alice", "wrong")).isFalse();

        assertThat(cluster.admin(2, "DELETE", "/api/users/alice", null)).isEqualTo(204);

        await().atMost(DEADLINE).until(() -> !canLogIn(1, "/", "alice", "secret"));
        for (int n = 0; n < 3; n++) {
            int node = n;
            await().atMost(DEADLINE).until(() -> cluster.node(node).users().permission("/", "alice") == null);
        }
    }

    @Test
    void shouldNotLetAUserInWithoutPermissionsSetThroughAnyNode() throws Exception {
        assertThat(cluster.admin(2, "PUT", "/api/users/bob", Map.of("password", "pw", "tags", "")))
                .isEqualTo(201);
        await().atMost(DEADLINE).until(() -> cluster.node(0).users().user("bob") != null);

        assertThat(canLogIn(0, "/", "bob", "pw")).isFalse(); // no permission on "/": access refused

        assertThat(cluster.admin(
                        1, "PUT", "/api/permissions/%2F/bob", Map.of("configure", "", "write", "", "read", ".*")))
                .isEqualTo(201);
        await().atMost(DEADLINE).until(() -> canLogIn(0, "/", "bob", "pw"));
        assertThat(cluster.admin(0, "DELETE", "/api/permissions/%2F/bob", null)).isEqualTo(204);
        await().atMost(DEADLINE).until(() -> !canLogIn(2, "/", "bob", "pw"));
    }

    @Test
    void shouldCreateAndDeleteAVhostOnEveryNode() throws Exception {
        assertThat(cluster.admin(1, "PUT", "/api/vhosts/tenant", null)).isEqualTo(201);
        for (int n = 0; n < 3; n++) {
            int node = n;
            await().atMost(DEADLINE).until(() -> cluster.node(node).broker().vhost("tenant") != null);
        }
        // the creator (guest) got full permissions on it, everywhere
        await().atMost(DEADLINE).until(() -> canLogIn(2, "tenant", "guest", "guest"));
        try (Connection connection = cluster.connect(0, "tenant", "guest", "guest")) {
            connection.createChannel().exchangeDeclare("tenant-x", "fanout");
        }

        Connection onAnotherNode = cluster.connect(2, "tenant", "guest", "guest");

        assertThat(cluster.admin(0, "DELETE", "/api/vhosts/tenant", null)).isEqualTo(204);

        await().atMost(DEADLINE).until(() -> !onAnotherNode.isOpen());
        assertThat(onAnotherNode.getCloseReason().getReason().toString()).contains("320");

        for (int n = 0; n < 3; n++) {
            int node = n;
            await().atMost(DEADLINE).until(() -> cluster.node(node).broker().vhost("tenant") == null);
        }
        assertThatThrownBy(() -> cluster.connect(2, "tenant", "guest", "guest")).isInstanceOf(Exception.class);
        assertThat(cluster.admin(2, "PUT", "/api/vhosts/tenant", null)).isEqualTo(201);
    }
}
