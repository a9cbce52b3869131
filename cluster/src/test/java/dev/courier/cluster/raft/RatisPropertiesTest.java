package dev.courier.cluster.raft;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Courier's Ratis settings, and the system-property escape hatch over them. */
class RatisPropertiesTest {
    @TempDir
    Path dir;

    @Test
    void shouldLetARaftSystemPropertyOverrideCouriersValue() {
        InetSocketAddress bind = new InetSocketAddress("127.0.0.1", 7001);
        RaftProperties plain = RatisProperties.server(RaftTuning.defaults(), bind, dir);
        assertThat(GrpcConfigKeys.Server.stubPoolSize(plain)).isEqualTo(1);
        assertThat(GrpcConfigKeys.Server.port(plain)).isEqualTo(7001); // Courier's own value

        System.setProperty("raft.grpc.server.stub.pool.size", "3");
        try {
            RaftProperties overridden = RatisProperties.server(RaftTuning.defaults(), bind, dir);
            assertThat(GrpcConfigKeys.Server.stubPoolSize(overridden)).isEqualTo(3);
            assertThat(GrpcConfigKeys.Server.port(overridden)).isEqualTo(7001); // untouched
        } finally {
            System.clearProperty("raft.grpc.server.stub.pool.size");
        }
    }
}
