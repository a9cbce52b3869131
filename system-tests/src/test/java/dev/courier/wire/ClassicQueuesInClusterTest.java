package dev.courier.wire;

import static dev.courier.wire.Wire.bytes;
import static dev.courier.wire.Wire.closedBy;
import static dev.courier.wire.Wire.replyCode;
import static dev.courier.wire.Wire.text;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.DefaultConsumer;
import com.rabbitmq.client.Envelope;
import com.rabbitmq.client.GetResponse;
import com.rabbitmq.client.PossibleAuthenticationFailureException;
import com.rabbitmq.client.SaslMechanism;
import com.rabbitmq.client.ShutdownSignalException;
import com.rabbitmq.client.impl.LongStringHelper;
import dev.courier.broker.MessageQueue;
import dev.courier.broker.VirtualHost;
import dev.courier.server.amqp.Authenticator;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Classic queues in a cluster live on the node that declared them and are reachable through
 * every node: the others know the queue through the metadata group and forward publishes,
 * consumers, basic.get, purge and delete to its node over a node link.
 */
class ClassicQueuesInClusterTest {
    static {
        LeakTracker.install();
    }

    private static final Duration DEADLINE = Duration.ofSeconds(30);
    private static final String DIRECT_REPLY_TO = "amq.rabbitmq.reply-to";

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

    /** Declares a classic queue through node 1 and waits until every node serves it. */
    private Channel declareOnFirstNode(String queue, boolean durable, Map<String, Object> arguments) throws Exception {
        Channel owner = channel(0);
        owner.queueDeclare(queue, durable, false, false, arguments);
        await().atMost(DEADLINE).until(() -> vhost(1).findQueue(queue) != null && vhost(2).findQueue(queue) != null);
        return owner;
    }

    @Test
    void shouldRouteThroughOneNodeAndDeliverThroughAnotherInOrderKeepingExchangeKeyAndHeaders() throws Exception {
        Channel owner = declareOnFirstNode("orders.q", true, null);
        owner.queueBind("orders.q", "amq.direct", "new");
        await().atMost(DEADLINE).until(() -> vhost(1).exchange("amq.direct").bindings().stream()
                .anyMatch(b -> b.destinationName().equals("orders.q")));

        Channel publisher = channel(1);
        publisher.confirmSelect();
        for (int i = 0; i < 200; i++) {
            AMQP.BasicProperties properties = new AMQP.BasicProperties.Builder()
                    .deliveryMode(2)
                    .messageId("m" + i)
                    .headers(Map.of("n", i))
                    .build();
            publisher.basicPublish("amq.direct", "new", true, properties, bytes("order " + i));
        }
        publisher.waitForConfirmsOrDie(DEADLINE.toMillis());
        assertThat(vhost(0).findQueue("orders.q").messageCount()).isEqualTo(200);

        Channel consumer = channel(2);
        consumer.basicQos(10);
        BlockingQueue<Object[]> received = new LinkedBlockingQueue<>();
        consumer.basicConsume("orders.q", false, new DefaultConsumer(consumer) {
            @Override
            public void handleDelivery(String tag, Envelope envelope, AMQP.BasicProperties properties, byte[] body)
                    throws IOException {
                received.add(new Object[] {envelope, properties, text(body)});
                getChannel().basicAck(envelope.getDeliveryTag(), false);
            }
        });
        for (int i = 0; i < 200; i++) {
            Object[] delivery = received.poll(DEADLINE.toSeconds(), TimeUnit.SECONDS);
            assertThat(delivery).as("delivery %d", i).isNotNull();
            Envelope envelope = (Envelope) delivery[0];
            AMQP.BasicProperties properties = (AMQP.BasicProperties) delivery[1];
            assertThat(delivery[2]).isEqualTo("order " + i);
            assertThat(envelope.getExchange()).isEqualTo("amq.direct");
            assertThat(envelope.getRoutingKey()).isEqualTo("new");
            assertThat(envelope.isRedeliver()).isFalse();
            assertThat(properties.getMessageId()).isEqualTo("m" + i);
            assertThat(properties.getDeliveryMode()).isEqualTo(2);
            assertThat(properties.getHeaders()).containsOnlyKeys("n");
        }
        await().atMost(DEADLINE)
                .until(() -> owner.queueDeclarePassive("orders.q").getMessageCount() == 0);
        assertThat(owner.queueDeclarePassive("orders.q").getConsumerCount()).isEqualTo(1);
    }

    @Test
    void shouldRequeueWhatAConsumerOnAnotherNodeLeftUnackedAndDeadLetterWhatItRejected() throws Exception {
        Channel owner = declareOnFirstNode("dead", false, null);
        declareOnFirstNode("work", false, Map.of("x-dead-letter-exchange", "", "x-dead-letter-routing-key", "dead"));
        for (String body : List.of("a", "b", "c")) {
            owner.basicPublish("", "work", null, bytes(body));
        }

        Channel consumer = channel(1);
        BlockingQueue<Envelope> received = new LinkedBlockingQueue<>();
        consumer.basicConsume("work", false, new DefaultConsumer(consumer) {
            @Override
            public void handleDelivery(String tag, Envelope envelope, AMQP.BasicProperties properties, byte[] body) {
                received.add(envelope);
            }
        });
        Envelope a = received.poll(DEADLINE.toSeconds(), TimeUnit.SECONDS);
        Envelope b = received.poll(DEADLINE.toSeconds(), TimeUnit.SECONDS);
        assertThat(received.poll(DEADLINE.toSeconds(), TimeUnit.SECONDS)).isNotNull();
        consumer.basicAck(a.getDeliveryTag(), false);
        consumer.basicReject(b.getDeliveryTag(), false);
        consumer.close(); // c was not acked: it goes back to the queue on its node

        GetResponse back = Wire.getEventually(owner, "work");
        assertThat(text(back.getBody())).isEqualTo("c");
        assertThat(back.getEnvelope().isRedeliver()).isTrue();
        GetResponse deadLettered = Wire.getEventually(owner, "dead");
        assertThat(text(deadLettered.getBody())).isEqualTo("b");
        assertThat(owner.queueDeclarePassive("work").getMessageCount()).isZero();
    }

    @Test
    void shouldDeclareGetPurgeAndDeleteThroughAnotherNode() throws Exception {
        Channel owner = declareOnFirstNode("jobs", true, Map.of("x-max-length", 100));
        for (int i = 0; i < 5; i++) {
            owner.basicPublish("", "jobs", null, bytes("job " + i));
        }

        Channel other = channel(2);
        AMQP.Queue.DeclareOk redeclared = other.queueDeclare("jobs", true, false, false, Map.of("x-max-length", 100));
        assertThat(redeclared.getMessageCount()).isEqualTo(5);
        ShutdownSignalException different =
                closedBy(() -> channel(2).queueDeclare("jobs", false, false, false, Map.of("x-max-length", 100)));
        assertThat(replyCode(different)).isEqualTo(406);

        GetResponse first = other.basicGet("jobs", false);
        assertThat(text(first.getBody())).isEqualTo("job 0");
        assertThat(first.getMessageCount()).isEqualTo(4);
        other.basicReject(first.getEnvelope().getDeliveryTag(), true);
        GetResponse again = other.basicGet("jobs", true);
        assertThat(text(again.getBody())).isEqualTo("job 0");
        assertThat(again.getEnvelope().isRedeliver()).isTrue();
        MessageQueue seenFromThird = vhost(2).findQueue("jobs");
        assertThat(seenFromThird.leaderNode()).isEqualTo("n1");
        await().atMost(DEADLINE).until(() -> {
            seenFromThird.refreshCounts().join();
            return seenFromThird.messageCount() == 4;
        });
        assertThat(cluster.admin(2, "GET", "/api/queues/%2F/jobs", null)).isEqualTo(200);

        assertThat(channel(1).queuePurge("jobs").getMessageCount()).isEqualTo(4);
        assertThat(other.queueDelete("jobs").getMessageCount()).isZero();
        await().atMost(DEADLINE)
                .until(() -> vhost(0).findQueue("jobs") == null
                        && vhost(1).findQueue("jobs") == null
                        && vhost(2).findQueue("jobs") == null);
        assertThat(replyCode(closedBy(() -> channel(1).queueDeclarePassive("jobs"))))
                .isEqualTo(404);
    }

    @Test
    void shouldCancelConsumersOnOtherNodesWhenTheQueueIsDeletedOrItsNodeStops() throws Exception {
        declareOnFirstNode("deleted.q", false, null);
        declareOnFirstNode("stranded.q", true, null);
        CountDownLatch deletedCancelled = new CountDownLatch(1);
        CountDownLatch strandedCancelled = new CountDownLatch(1);
        Channel consumer = channel(1);
        consumer.basicConsume("deleted.q", true, new DefaultConsumer(consumer) {
            @Override
            public void handleCancel(String tag) {
                deletedCancelled.countDown();
            }
        });
        consumer.basicConsume("stranded.q", true, new DefaultConsumer(consumer) {
            @Override
            public void handleCancel(String tag) {
                strandedCancelled.countDown();
            }
        });
        await().atMost(DEADLINE).until(() -> vhost(0).findQueue("stranded.q").consumerCount() == 1);

        channel(2).queueDelete("deleted.q");
        assertThat(deletedCancelled.await(DEADLINE.toSeconds(), TimeUnit.SECONDS))
                .isTrue();

        cluster.stop(0);
        assertThat(strandedCancelled.await(DEADLINE.toSeconds(), TimeUnit.SECONDS))
                .as("consumer_cancel_notify when the queue's node goes away")
                .isTrue();
        Channel publisher = channel(1);
        publisher.confirmSelect();
        publisher.basicPublish("", "stranded.q", null, bytes("nowhere to go"));
        assertThat(publisher.waitForConfirms(DEADLINE.toMillis()))
                .as("a publish the queue's node cannot confirm is nacked")
                .isFalse();
        assertThat(consumer.isOpen()).isTrue();
    }

    @Test
    void shouldRelayADirectReplyToTheRequestersNode() throws Exception {
        Channel requester = declareOnFirstNode("requests", false, null);
        BlockingQueue<GetResponse> replies = new LinkedBlockingQueue<>();
        requester.basicConsume(DIRECT_REPLY_TO, true, new DefaultConsumer(requester) {
            @Override
            public void handleDelivery(String tag, Envelope envelope, AMQP.BasicProperties properties, byte[] body) {
                replies.add(new GetResponse(envelope, properties, body, 0));
            }
        });
        requester.basicPublish(
                "",
                "requests",
                new AMQP.BasicProperties.Builder()
                        .replyTo(DIRECT_REPLY_TO)
                        .correlationId("c1")
                        .build(),
                bytes("ping"));

        Channel responder = channel(2);
        GetResponse request = Wire.getEventually(responder, "requests");
        String address = request.getProps().getReplyTo();
        assertThat(address).startsWith(DIRECT_REPLY_TO + ".");
        responder.confirmSelect();
        responder.basicPublish(
                "",
                address,
                new AMQP.BasicProperties.Builder().correlationId("c1").build(),
                bytes("pong"));
        responder.waitForConfirmsOrDie(DEADLINE.toMillis());

        GetResponse reply = replies.poll(DEADLINE.toSeconds(), TimeUnit.SECONDS);
        assertThat(reply)
                .as("the reply published through node 3 reached the requester on node 1")
                .isNotNull();
        assertThat(text(reply.getBody())).isEqualTo("pong");
        assertThat(reply.getProps().getCorrelationId()).isEqualTo("c1");
        assertThat(reply.getEnvelope().getRoutingKey()).isEqualTo(address);
    }

    @Test
    void shouldAnswer405ForAnotherNodesExclusiveQueue() throws Exception {
        String name = channel(0).queueDeclare("", false, true, true, null).getQueue();
        await().atMost(DEADLINE).until(() -> vhost(1).remoteOwner(name) != null);

        assertThat(replyCode(closedBy(() -> channel(1).queueDeclarePassive(name))))
                .isEqualTo(405);
    }

    @Test
    void shouldNotLetTwoNodesOwnTheSameClassicQueue() throws Exception {
        channel(2).queueDeclare("contested", false, false, false, null);

        // node 1 may not have applied node 3's declare yet: the log decides, and node 1 then serves node 3's queue
        channel(0).queueDeclare("contested", false, false, false, null);

        assertThat(vhost(0).findQueue("contested").leaderNode()).isEqualTo("n3");
        assertThat(vhost(2).findQueue("contested").leaderNode()).isNull();
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

    @Test
    void shouldRefuseANodeLoginWithoutTheClusterSecretAndTreatTheForwardHeaderFromClientsAsAHeader() throws Exception {
        ConnectionFactory impostor = new ConnectionFactory();
        impostor.setPort(cluster.node(0).amqpPort());
        impostor.setAutomaticRecoveryEnabled(false);
        impostor.setSaslConfig(mechanisms -> new SaslMechanism() {
            @Override
            public String getName() {
                return Authenticator.NODE_MECHANISM;
            }

            @Override
            public com.rabbitmq.client.LongString handleChallenge(
                    com.rabbitmq.client.LongString challenge, String user, String password) {
                return LongStringHelper.asLongString("n2\u0000guessed".getBytes(StandardCharsets.UTF_8));
            }
        });
        assertThatThrownBy(impostor::newConnection).isInstanceOf(PossibleAuthenticationFailureException.class);

        Channel client = declareOnFirstNode("plain", false, null);
        declareOnFirstNode("elsewhere", false, null);
        client.basicPublish(
                "",
                "plain",
                new AMQP.BasicProperties.Builder()
                        .headers(Map.of("x-courier-forward-to", "elsewhere"))
                        .build(),
                bytes("routed as usual"));
        GetResponse got = Wire.getEventually(client, "plain");
        assertThat(got.getProps().getHeaders()).containsKey("x-courier-forward-to");
        assertThat(client.queueDeclarePassive("elsewhere").getMessageCount()).isZero();
    }
}
