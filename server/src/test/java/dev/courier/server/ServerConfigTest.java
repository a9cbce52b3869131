package dev.courier.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.courier.cluster.raft.ClusterConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ServerConfigTest {
    @Test
    void shouldHaveTheDefaultsOfTheDesign() {
        ServerConfig config = ServerConfig.defaults();
        assertThat(config.bindAddress()).isEqualTo("127.0.0.1");
        assertThat(config.amqpPort()).isEqualTo(5672);
        assertThat(config.httpPort()).isEqualTo(15672);
        assertThat(config.dataDir()).isEqualTo(Path.of("data"));
        assertThat(config.maxMessageSizeBytes()).isEqualTo(128L * 1024 * 1024);
        assertThat(config.toString()).doesNotContain("guest\u0000").contains("default_pass=********");
    }

    @Test
    void shouldSetKeysAndExplainBadOnes() {
        assertThat(ServerConfig.defaults().with("amqp.port", "0").amqpPort()).isZero();
        assertThat(ServerConfig.defaults().with("max-message-size", "1024").maxMessageSizeBytes())
                .isEqualTo(1024);
        assertThatThrownBy(() -> ServerConfig.defaults().with("nope", "1"))
                .hasMessageContaining("unknown config key 'nope'");
        assertThatThrownBy(() -> ServerConfig.defaults().with("heartbeat", "soon"))
                .hasMessageContaining("needs a number");
        assertThatThrownBy(() -> ServerConfig.defaults().with("max_message_size", Long.toString(1L << 40)))
                .hasMessageContaining("max_message_size must be");
    }

    @Test
    void shouldReadTheClusterMembersAndExplainBadOnes(@TempDir Path dir) {
        ServerConfig config = ServerConfig.defaults()
                .with("cluster.node_id", "n2")
                .with("cluster.nodes", "n1=127.0.0.1:7001, n2=127.0.0.1:7002,n3=localhost:7003");
        assertThat(config.cluster().enabled()).isTrue();
        ClusterConfig cluster = config.cluster().toClusterConfig(dir);
        assertThat(cluster.nodeId()).isEqualTo("n2");
        assertThat(cluster.peers()).containsOnlyKeys("n1", "n2", "n3");
        assertThat(cluster.peers().get("n3").getPort()).isEqualTo(7003);
        assertThat(cluster.groups()).isEqualTo(3); // one per node by default
        assertThat(ServerConfig.defaults().cluster().enabled()).isFalse();

        assertThatThrownBy(() -> ServerConfig.defaults()
                        .with("cluster.node_id", "n9")
                        .with("cluster.nodes", "n1=127.0.0.1:7001")
                        .cluster()
                        .toClusterConfig(dir))
                .hasMessageContaining("'n9' is not one of the cluster's nodes [n1]");
        assertThatThrownBy(() -> ServerConfig.defaults()
                        .with("cluster.node_id", "n1")
                        .with("cluster.nodes", "n1=127.0.0.1")
                        .cluster()
                        .toClusterConfig(dir))
                .hasMessageContaining("is not host:port");
        assertThatThrownBy(() -> ServerConfig.defaults()
                        .with("cluster.nodes", "n1=a:1")
                        .cluster()
                        .toClusterConfig(dir))
                .hasMessageContaining("both --node-id and --cluster");
        assertThatThrownBy(() -> ServerConfig.defaults().with("cluster.election_timeout_min_ms", "5000"))
                .hasMessageContaining("10 <= min < max");
    }

    @Test
    void shouldLoadAFile(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("courier.conf");
        Files.writeString(file, "amqp.port = 5999\nheartbeat=10\n");
        ServerConfig config = ServerConfig.defaults().withFile(file);
        assertThat(config.amqpPort()).isEqualTo(5999);
        assertThat(config.heartbeatSeconds()).isEqualTo(10);
    }
}
