package dev.courier.wire;

import static dev.courier.wire.Wire.bytes;
import static dev.courier.wire.Wire.closedBy;
import static dev.courier.wire.Wire.replyCode;
import static dev.courier.wire.Wire.replyText;
import static dev.courier.wire.Wire.text;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.DefaultConsumer;
import com.rabbitmq.client.ShutdownSignalException;
import dev.courier.broker.VirtualHost;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Classic queues in a cluster live on the node that declared them; the others know the name and
 * its node (through the metadata group) and refuse to use it with a clear error, since Courier does
 * not forward classic queues between nodes.
 */
class ClassicQueuesInClusterTest {
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

    private Channel channel(int node) throws Exception {
        return cluster.connect(node).createChannel();
    }

    private VirtualHost vhost(int node) {
        return cluster.node(node).broker().vhost("/");
    }

    @Test
    void shouldServeAClassicQueueOnItsNodeAndRefuseItElsewhereNamingTheNode() throws Exception {
        Channel owner = channel(0);
        owner.queueDeclare("local.q", true, false, false, null);
        owner.basicPublish("", "local.q", null, bytes("here"));
        assertThat(text(Wire.getEventually(owner, "local.q").getBody())).isEqualTo("here");
        await().atMost(DEADLINE).until(() -> "n1".equals(vhost(1).remoteOwner("local.q")));

        ShutdownSignalException passive = closedBy(() -> channel(1).queueDeclarePassive("local.q"));
        assertThat(replyCode(passive)).isEqualTo(404);
        assertThat(replyText(passive))
                .isEqualTo("NOT_FOUND - queue 'local.q' in vhost '/' is a classic queue on node 'n1'; classic queues"
                        + " are not reachable from other nodes: connect to node 'n1' or use x-queue-type=quorum");
        assertThat(replyCode(closedBy(() -> channel(1).queueDeclare("local.q", true, false, false, null))))
                .isEqualTo(404);
        Channel consumer = channel(2);
        assertThat(replyCode(closedBy(() -> consumer.basicConsume("local.q", new DefaultConsumer(consumer)))))
                .isEqualTo(404);
        assertThat(replyCode(closedBy(() -> channel(2).basicGet("local.q", true))))
                .isEqualTo(404);
    }

    @Test
    void shouldNotLetTwoNodesDeclareTheSameClassicQueue() throws Exception {
        channel(2).queueDeclare("contested", false, false, false, null);

        // node 1 may not have applied node 3's declare yet: the log decides either way
        ShutdownSignalException refused =
                closedBy(() -> channel(0).queueDeclare("contested", false, false, false, null));

        assertThat(replyCode(refused)).isEqualTo(404);
        assertThat(replyText(refused)).contains("classic queue on node 'n3'");
        assertThat(vhost(0).findQueue("contested")).isNull();
    }

    @Test
    void shouldAnswer405ForAnotherNodesExclusiveQueue() throws Exception {
        String name = channel(0).queueDeclare("", false, true, true, null).getQueue();
        await().atMost(DEADLINE).until(() -> vhost(1).remoteOwner(name) != null);

        assertThat(replyCode(closedBy(() -> channel(1).queueDeclarePassive(name))))
                .isEqualTo(405);
    }

    @Test
    void shouldFreeTheNameOnEveryNodeWhenTheQueueIsDeleted() throws Exception {
        Channel owner = channel(0);
        owner.queueDeclare("moving", false, false, false, null);
        owner.queueBind("moving", "amq.direct", "m");
        await().atMost(DEADLINE).until(() -> "n1".equals(vhost(2).remoteOwner("moving")));

        owner.queueDelete("moving");
        await().atMost(DEADLINE).until(() -> vhost(2).remoteOwner("moving") == null);

        Channel newOwner = channel(2);
        newOwner.queueDeclare("moving", false, false, false, null);
        assertThat(vhost(2).exchange("amq.direct").bindings())
                .as("the old queue's binding went with it")
                .noneMatch(b -> b.destinationName().equals("moving"));
        await().atMost(DEADLINE).until(() -> "n3".equals(vhost(0).remoteOwner("moving")));
    }

    @Test
    void shouldFreeTheNamesOfQueuesThatDidNotSurviveTheirNodesRestart() throws Exception {
        channel(2).queueDeclare("transient.q", false, false, false, null);
        await().atMost(DEADLINE).until(() -> "n3".equals(vhost(0).remoteOwner("transient.q")));

        cluster.stop(2);
        cluster.restart(2);

        await().atMost(DEADLINE).until(() -> vhost(0).remoteOwner("transient.q") == null);
        channel(0).queueDeclare("transient.q", false, false, false, null);
    }
}
