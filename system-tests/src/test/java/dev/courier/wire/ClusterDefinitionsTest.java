package dev.courier.wire;

import static dev.courier.wire.Wire.bytes;
import static dev.courier.wire.Wire.closedBy;
import static dev.courier.wire.Wire.replyCode;
import static dev.courier.wire.Wire.replyText;
import static dev.courier.wire.Wire.text;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.GetResponse;
import com.rabbitmq.client.MessageProperties;
import com.rabbitmq.client.ShutdownSignalException;
import dev.courier.broker.Exchange;
import dev.courier.broker.VirtualHost;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Exchanges and bindings on a three-node cluster: declared, bound, unbound and deleted through
 * any node, in force on every node (through the cluster's metadata group), with RabbitMQ's errors.
 */
class ClusterDefinitionsTest {
    static {
        LeakTracker.install();
    }

    private static final Duration DEADLINE = Duration.ofSeconds(30);
    private static final Map<String, Object> QUORUM = Map.of("x-queue-type", "quorum");

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

    private void awaitBindingEverywhere(String exchange, String queue) {
        for (int n = 0; n < 3; n++) {
            int node = n;
            await().atMost(DEADLINE).until(() -> {
                Exchange x = vhost(node).exchange(exchange);
                return x != null
                        && x.bindings().stream()
                                .anyMatch(b -> b.destinationName().equals(queue));
            });
        }
    }

    @Test
    void shouldRouteAPublishThroughAnotherNodeToAQuorumQueueBoundThroughTheFirst() throws Exception {
        Channel first = channel(0);
        first.exchangeDeclare("orders", "direct", true);
        first.queueDeclare("orders.eu", true, false, false, QUORUM);
        first.queueBind("orders.eu", "orders", "eu");
        awaitBindingEverywhere("orders", "orders.eu");

        Channel second = channel(1);
        second.confirmSelect();
        second.basicPublish("orders", "eu", MessageProperties.PERSISTENT_BASIC, bytes("order 1"));
        second.waitForConfirmsOrDie(10_000);

        GetResponse got = Wire.getEventually(channel(2), "orders.eu");
        assertThat(text(got.getBody())).isEqualTo("order 1");
    }

    @Test
    void shouldReplicateNonDurableExchangesAndExchangeToExchangeBindings() throws Exception {
        Channel first = channel(0);
        first.exchangeDeclare("events", "topic", false);
        first.exchangeDeclare("audit", "fanout", false);
        first.exchangeBind("audit", "events", "#");
        first.queueDeclare("audit.log", true, false, false, QUORUM);
        first.queueBind("audit.log", "audit", "");
        awaitBindingEverywhere("audit", "audit.log");
        awaitBindingEverywhere("events", "audit");

        Channel third = channel(2);
        third.confirmSelect();
        third.basicPublish("events", "user.created", null, bytes("e1"));
        third.waitForConfirmsOrDie(10_000);

        assertThat(text(Wire.getEventually(channel(1), "audit.log").getBody())).isEqualTo("e1");
        assertThat(vhost(1).exchange("events").durable()).isFalse();
    }

    @Test
    void shouldRefuseAnInequivalentRedeclareThroughAnotherNodeWith406() throws Exception {
        channel(0).exchangeDeclare("prices", "direct", true);

        // whether or not node 2 applied the first declare yet, the answer is the same
        ShutdownSignalException refused = closedBy(() -> channel(1).exchangeDeclare("prices", "fanout", true));

        assertThat(replyCode(refused)).isEqualTo(406);
        assertThat(replyText(refused))
                .isEqualTo("PRECONDITION_FAILED - inequivalent arg 'type' for exchange 'prices' in vhost '/':"
                        + " received 'fanout' but current is 'direct'");
        channel(2).exchangeDeclare("prices", "direct", true); // an equivalent redeclare is fine anywhere
    }

    @Test
    void shouldLetTheLogOrderDecideBetweenTwoNodesDeclaringDifferentlyAtOnce() throws Exception {
        for (int round = 0; round < 5; round++) {
            String name = "race-" + round;
            Channel one = channel(0);
            Channel two = channel(1);
            CompletableFuture<Throwable> direct = declareAsync(one, name, "direct");
            CompletableFuture<Throwable> fanout = declareAsync(two, name, "fanout");
            Throwable a = direct.get(30, TimeUnit.SECONDS);
            Throwable b = fanout.get(30, TimeUnit.SECONDS);

            assertThat(a == null ^ b == null)
                    .as("exactly one declare wins, round %d", round)
                    .isTrue();
            String winner = a == null ? "direct" : "fanout";
            ShutdownSignalException loser = (ShutdownSignalException) (a == null ? b : a);
            assertThat(replyCode(loser)).isEqualTo(406);
            assertThat(replyText(loser)).contains("current is '" + winner + "'");
            for (int n = 0; n < 3; n++) {
                int node = n;
                await().atMost(DEADLINE).until(() -> vhost(node).exchange(name) != null);
                assertThat(vhost(node).exchange(name).type()).isEqualTo(winner);
            }
        }
    }

    private static CompletableFuture<Throwable> declareAsync(Channel channel, String name, String type) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                channel.exchangeDeclare(name, type, true);
                return null;
            } catch (Exception e) {
                Throwable cause = e;
                while (cause != null && !(cause instanceof ShutdownSignalException)) {
                    cause = cause.getCause();
                }
                return cause == null ? e : cause;
            }
        });
    }

    @Test
    void shouldDeleteAnExchangeWithItsBindingsOnEveryNode() throws Exception {
        Channel first = channel(0);
        first.exchangeDeclare("jobs", "fanout", true);
        first.queueDeclare("jobs.q", true, false, false, QUORUM);
        first.queueBind("jobs.q", "jobs", "");
        awaitBindingEverywhere("jobs", "jobs.q");

        assertThat(replyCode(closedBy(() -> channel(1).exchangeDelete("jobs", true))))
                .as("if-unused through another node")
                .isEqualTo(406);
        channel(2).exchangeDelete("jobs");

        for (int n = 0; n < 3; n++) {
            int node = n;
            await().atMost(DEADLINE).until(() -> vhost(node).exchange("jobs") == null);
        }
        Channel publisher = channel(1);
        publisher.confirmSelect();
        ShutdownSignalException missing = closedBy(() -> {
            publisher.basicPublish("jobs", "", null, bytes("x"));
            publisher.waitForConfirmsOrDie(10_000);
        });
        assertThat(replyCode(missing)).isEqualTo(404);

        // declared again: no binding comes back with it
        channel(0).exchangeDeclare("jobs", "fanout", true);
        for (int n = 0; n < 3; n++) {
            int node = n;
            await().atMost(DEADLINE).until(() -> vhost(node).exchange("jobs") != null);
            assertThat(vhost(node).exchange("jobs").bindings()).isEmpty();
        }
    }

    @Test
    void shouldUnbindThroughAnyNodeAndAnswer404ForAMissingExchange() throws Exception {
        Channel first = channel(0);
        first.exchangeDeclare("logs", "direct", true);
        first.queueDeclare("logs.q", true, false, false, QUORUM);
        first.queueBind("logs.q", "logs", "error");
        awaitBindingEverywhere("logs", "logs.q");

        channel(1).queueUnbind("logs.q", "logs", "error");
        for (int n = 0; n < 3; n++) {
            int node = n;
            await().atMost(DEADLINE)
                    .until(() -> vhost(node).exchange("logs").bindings().isEmpty());
        }
        Channel publisher = channel(2);
        publisher.confirmSelect();
        publisher.basicPublish("logs", "error", null, bytes("lost"));
        publisher.waitForConfirmsOrDie(10_000);
        assertThat(publisher.basicGet("logs.q", true)).isNull();

        assertThat(replyCode(closedBy(() -> channel(1).queueBind("logs.q", "nope", "k"))))
                .isEqualTo(404);
    }

    @Test
    void shouldDeleteAnAutoDeleteExchangeWithItsLastBindingOnEveryNode() throws Exception {
        Channel first = channel(0);
        first.exchangeDeclare("temp", "direct", false, true, null);
        first.queueDeclare("temp.q", true, false, false, QUORUM);
        first.queueBind("temp.q", "temp", "k");
        awaitBindingEverywhere("temp", "temp.q");

        channel(2).queueUnbind("temp.q", "temp", "k");

        for (int n = 0; n < 3; n++) {
            int node = n;
            await().atMost(DEADLINE).until(() -> vhost(node).exchange("temp") == null);
        }
    }

    @Test
    void shouldDropTheBindingsOfADeletedQuorumQueueOnEveryNode() throws Exception {
        Channel first = channel(0);
        first.exchangeDeclare("feed", "fanout", true);
        first.queueDeclare("feed.q", true, false, false, QUORUM);
        first.queueBind("feed.q", "feed", "");
        awaitBindingEverywhere("feed", "feed.q");

        channel(1).queueDelete("feed.q");
        List<Integer> nodes = new ArrayList<>(List.of(0, 1, 2));
        for (int node : nodes) {
            await().atMost(DEADLINE)
                    .until(() -> vhost(node).exchange("feed").bindings().isEmpty());
        }
        // a queue declared again under that name is not bound
        channel(2).queueDeclare("feed.q", true, false, false, QUORUM);
        for (int node : nodes) {
            await().atMost(DEADLINE).until(() -> vhost(node).findQueue("feed.q") != null);
        }
        assertThat(cluster.node(0).broker().definitions()).isNotNull();
        for (int node : nodes) {
            assertThat(vhost(node).exchange("feed").bindings()).isEmpty();
        }
    }
}
