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
        assertThat(config.largeMessageThresholdBytes()).isEqualTo(1024 * 1024);
        assertThat(config.toString()).doesNotContain("guest\u0000").contains("default_pass=********");
    }

    @Test
    void shouldSetKeysAndExplainBadOnes() {
        assertThat(ServerConfig.defaults().with("amqp.port", "0").amqpPort()).isZero();
        assertThat(ServerConfig.defaults().with("max-message-size", "1024").maxMessageSizeBytes())
                .isEqualTo(1024);
        assertThat(ServerConfig.defaults()
                        .with("large_message_threshold", "4096")
                        .largeMessageThresholdBytes())
                .isEqualTo(4096);
        assertThatThrownBy(() -> ServerConfig.defaults().with("large_message_threshold", "-1"))
                .hasMessageContaining("large_message_threshold must not be negative");
        assertThat(ServerConfig.defaults().storePreallocate()).isTrue();
        assertThat(ServerConfig.defaults().with("store.preallocate", "false").storePreallocate())
                .isFalse();
        assertThatThrownBy(() -> ServerConfig.defaults().with("store.preallocate", "maybe"))
                .hasMessageContaining("expected true or false");
        assertThatThrownBy(() -> ServerConfig.defaults().with("nope", "1"))
                .hasMessageContaining("unknown config key 'nope'");
        assertThatThrownBy(() -> ServerConfig.defaults().with("heartbeat", "soon"))
                .hasMessageContaining("needs a number");
        assertThatThrownBy(() -> ServerConfig.defaults().with("max_message_size", Long.toString(1L << 40)))
                .hasMessageContaining("max_message_size must be");
    }

    @Test
    void shouldListenForAmqpsOn5671WhenACertificateIsConfiguredWithoutAPort() {
        TlsSettings none = ServerConfig.defaults().tls();
        assertThat(none.amqpsPort()).as("no certificate, no AMQPS").isEqualTo(-1);
        assertThat(none.enabled()).isFalse();
        none.validate();

        TlsSettings pem = ServerConfig.defaults()
                .with("ssl.certfile", "server.pem")
                .with("ssl.keyfile", "server.key")
                .tls();
        assertThat(pem.amqpsPort()).isEqualTo(5671);
        assertThat(pem.enabled()).isTrue();
        pem.validate();
        assertThat(ServerConfig.defaults()
                        .with("ssl.keystore", "server.p12")
                        .tls()
                        .amqpsPort())
                .isEqualTo(TlsSettings.DEFAULT_PORT);

        ServerConfig explicit = ServerConfig.defaults()
                .with("ssl.certfile", "server.pem")
                .with("ssl.keyfile", "server.key")
                .with("ssl.port", "5999");
        assertThat(explicit.tls().amqpsPort()).isEqualTo(5999);
        assertThat(explicit.with("ssl.port", "0").tls().amqpsPort())
                .as("any free port")
                .isZero();
        TlsSettings off = explicit.with("ssl.port", "-1").tls();
        assertThat(off.amqpsPort())
                .as("AMQPS off, the certificate only for HTTPS")
                .isEqualTo(-1);
        assertThat(explicit.with("ssl.port", "-1")
                        .with("management.ssl", "true")
                        .tls()
                        .enabled())
                .isTrue();
        assertThat(explicit.with("ssl.port", "").tls().amqpsPort())
                .as("back to the default")
                .isEqualTo(5671);

        assertThat(ServerConfig.defaults().toMap()).containsEntry("ssl.port", "");
        assertThatThrownBy(() ->
                        ServerConfig.defaults().with("ssl.port", "0").tls().validate())
                .hasMessageContaining("TLS needs a certificate");
        assertThatThrownBy(() -> ServerConfig.defaults().with("ssl.port", "-3"))
                .hasMessageContaining("ssl.port must be -1..65535");
    }

    @Test
    void shouldSetTheLogLevelFromTheConfig() {
        assertThat(ServerConfig.defaults().logLevel())
                .as("-Dcourier.log.level decides")
                .isEmpty();
        assertThat(ServerConfig.defaults().with("log.level", "debug").logLevel())
                .isEqualTo("DEBUG");
        assertThatThrownBy(() -> ServerConfig.defaults().with("log.level", "chatty"))
                .hasMessageContaining("log.level must be one of TRACE, DEBUG, INFO, WARN, ERROR, OFF");

        ch.qos.logback.classic.Logger root =
                (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        ch.qos.logback.classic.Level before = root.getLevel();
        try {
            assertThat(LogLevels.apply("")).isFalse();
            assertThat(root.getLevel()).isEqualTo(before);
            assertThat(LogLevels.apply(
                            ServerConfig.defaults().with("log.level", "warn").logLevel()))
                    .isTrue();
            assertThat(root.getLevel()).isEqualTo(ch.qos.logback.classic.Level.WARN);
            assertThat(org.slf4j.LoggerFactory.getLogger("dev.courier.server.amqp.AmqpConnection")
                            .isInfoEnabled())
                    .isFalse();
            LogLevels.apply("DEBUG");
            assertThat(org.slf4j.LoggerFactory.getLogger("dev.courier.broker.VirtualHost")
                            .isDebugEnabled())
                    .isTrue();
            assertThat(org.slf4j.LoggerFactory.getLogger("io.netty.channel").isDebugEnabled())
                    .as("logback.xml's own levels stay")
                    .isFalse();
        } finally {
            root.setLevel(before);
        }
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
