package dev.courier.cluster.raft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ClusterConfigTest {

    @Test
    void shouldParsePeersInOrder() {
        Map<String, InetSocketAddress> peers =
                ClusterConfig.parsePeers("n1=127.0.0.1:7001, n2=host-b:7002,n3=[::1]:7003");
        assertThat(peers.keySet()).containsExactly("n1", "n2", "n3");
        assertThat(peers.get("n2").getHostString()).isEqualTo("host-b");
        assertThat(peers.get("n2").getPort()).isEqualTo(7002);
        assertThat(peers.get("n3").getHostString()).isEqualTo("::1");
        assertThat(GroupLayout.address(peers.get("n3"))).isEqualTo("[::1]:7003");
    }

    @Test
    void shouldRejectMalformedSpecsWithAMessageThatNamesThePart() {
        assertThatThrownBy(() -> ClusterConfig.parsePeers(" ")).hasMessageContaining("empty");
        assertThatThrownBy(() -> ClusterConfig.parsePeers("n1")).hasMessageContaining("'n1' is not id=host:port");
        assertThatThrownBy(() -> ClusterConfig.parsePeers("n1=h:1,")).hasMessageContaining("empty entry");
        assertThatThrownBy(() -> ClusterConfig.parsePeers("=h:1")).hasMessageContaining("node id ''");
        assertThatThrownBy(() -> ClusterConfig.parsePeers("n1=h")).hasMessageContaining("'h' of node 'n1'");
        assertThatThrownBy(() -> ClusterConfig.parsePeers("n1=:7001")).hasMessageContaining("is not host:port");
        assertThatThrownBy(() -> ClusterConfig.parsePeers("n1=h:x")).hasMessageContaining("port 'x'");
        assertThatThrownBy(() -> ClusterConfig.parsePeers("n1=h:70000")).hasMessageContaining("1..65535");
        assertThatThrownBy(() -> ClusterConfig.parsePeers("n1=::1:7001")).hasMessageContaining("brackets");
        assertThatThrownBy(() -> ClusterConfig.parsePeers("n1=h:1,n1=h:2")).hasMessageContaining("twice");
        assertThatThrownBy(() -> ClusterConfig.parsePeers("n 1=h:1")).hasMessageContaining("node id 'n 1'");
    }

    @Test
    void shouldDefaultToOneGroupPerNodeAndRequireThisNodeAmongThePeers() {
        Map<String, InetSocketAddress> peers = ClusterConfig.parsePeers("a=h:1,b=h:2,c=h:3");
        assertThat(ClusterConfig.of("b", peers, Path.of("data")).groups()).isEqualTo(3);
        assertThat(ClusterConfig.of("b", peers, Path.of("data")).withGroups(5).groups())
                .isEqualTo(5);
        assertThatThrownBy(() -> ClusterConfig.of("d", peers, Path.of("data")))
                .hasMessageContaining("'d' is not one of the cluster's nodes");
    }

    @Test
    void shouldPlanTheSameGroupsWhateverThePeerOrder() {
        ClusterConfig one = ClusterConfig.of("a", ClusterConfig.parsePeers("a=h:1,b=h:2,c=h:3"), Path.of("x"));
        ClusterConfig other = ClusterConfig.of("c", ClusterConfig.parsePeers("c=h:3,a=h:1,b=h:2"), Path.of("y"));
        List<GroupLayout.PlannedGroup> planOne = GroupLayout.plan(one);
        List<GroupLayout.PlannedGroup> planOther = GroupLayout.plan(other);
        assertThat(planOne).extracting(GroupLayout.PlannedGroup::preferredNode).containsExactly("a", "b", "c", "a");
        assertThat(planOne).extracting(GroupLayout.PlannedGroup::name).containsExactly("g0", "g1", "g2", "meta");
        assertThat(planOne)
                .extracting(GroupLayout.PlannedGroup::group)
                .isEqualTo(
                        planOther.stream().map(GroupLayout.PlannedGroup::group).toList());
        assertThat(planOne.get(1)
                        .group()
                        .getPeer(org.apache.ratis.protocol.RaftPeerId.valueOf("b"))
                        .getPriority())
                .isGreaterThan(planOne.get(1)
                        .group()
                        .getPeer(org.apache.ratis.protocol.RaftPeerId.valueOf("a"))
                        .getPriority());
    }

    @Test
    void shouldRejectTuningThatRatisWouldRefuse() {
        assertThatThrownBy(() -> RaftTuning.defaults().withElectionTimeoutsMs(500, 500))
                .hasMessageContaining("electionTimeoutMaxMs");
        assertThatThrownBy(() -> RaftTuning.defaults().withBatching(64, 8 * 1024 * 1024, 2, 32))
                .hasMessageContaining("batchMaxBytes");
        assertThat(RaftTuning.defaults().maxCommandBytes())
                .isLessThan(RaftTuning.defaults().maxEntryBytes());
    }
}
