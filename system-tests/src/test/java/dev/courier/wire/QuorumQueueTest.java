package dev.courier.wire;

import static dev.courier.wire.Wire.closedBy;
import static dev.courier.wire.Wire.replyCode;
import static dev.courier.wire.Wire.replyText;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.GetResponse;
import com.rabbitmq.client.MessageProperties;
import com.rabbitmq.client.ShutdownSignalException;
import dev.courier.broker.Consumer;
import dev.courier.broker.Delivery;
import dev.courier.broker.MessageQueue;
import dev.courier.server.CourierServer;
import dev.courier.server.ctl.Ctl;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Quorum queues on a three-node cluster, all three brokers in this JVM: declared on one node,
 * published to through another, consumed through the third; consumers survive a node stopping.
 */
class QuorumQueueTest {
    static {
        LeakTracker.install();
        // a Ratis server that cannot start fails its test instead of exiting the test JVM
        org.apache.ratis.util.ExitUtils.disableSystemExit();
    }

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

    private static byte[] body(int i) {
        return Integer.toString(i).getBytes(StandardCharsets.UTF_8);
    }

    private static String text(byte[] body) {
        return new String(body, StandardCharsets.UTF_8);
    }

    private void awaitKnownEverywhere(String queue) {
        await().atMost(Duration.ofSeconds(20)).until(() -> {
            for (int n = 0; n < 3; n++) {
                CourierServer node = cluster.node(n);
                if (node != null && node.broker().vhost("/").findQueue(queue) == null) {
                    return false;
                }
            }
            return true;
        });
    }

    @Test
    void shouldDeliverThroughAnyNodeWhatWasPublishedThroughAnother() throws Exception {
        Channel declarer = channel(0);
        AMQP.Queue.DeclareOk ok = declarer.queueDeclare("orders", true, false, false, QUORUM);
        assertThat(ok.getQueue()).isEqualTo("orders");
        awaitKnownEverywhere("orders");

        Channel publisher = channel(1);
        publisher.confirmSelect();
        for (int i = 0; i < 500; i++) {
            publisher.basicPublish("", "orders", MessageProperties.PERSISTENT_BASIC, body(i));
        }
        publisher.waitForConfirmsOrDie(30_000);

        Channel consumer = channel(2);
        consumer.basicQos(50);
        List<String> received = new CopyOnWriteArrayList<>();
        consumer.basicConsume(
                "orders",
                false,
                (tag, delivery) -> {
                    received.add(text(delivery.getBody()));
                    consumer.basicAck(delivery.getEnvelope().getDeliveryTag(), false);
                },
                tag -> {});

        await().atMost(Duration.ofSeconds(30)).until(() -> received.size() >= 500);
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < 500; i++) {
            expected.add(Integer.toString(i));
        }
        assertThat(received).containsExactlyElementsOf(expected); // FIFO, each once
        await().atMost(Duration.ofSeconds(10))
                .until(() -> declarer.queueDeclarePassive("orders").getMessageCount() == 0);
    }

    @Test
    void shouldReplicateALargeMessageReadFromItsBlobAndDeliverItIntact() throws Exception {
        Channel declarer = channel(0);
        declarer.queueDeclare("large", true, false, false, QUORUM);
        awaitKnownEverywhere("large");
        byte[] body = new byte[1536 * 1024]; // above the 1 MiB large-message threshold
        new java.util.Random(15).nextBytes(body);

        Channel publisher = channel(1);
        publisher.confirmSelect();
        publisher.basicPublish("", "large", MessageProperties.PERSISTENT_BASIC, body);
        publisher.waitForConfirmsOrDie(30_000);
        // the entry holds the body: the publishing node's blob went with the message
        Path blobs = dir.resolve("n2").resolve("store").resolve("blobs");
        await().atMost(Duration.ofSeconds(10)).until(() -> {
            try (java.util.stream.Stream<Path> files = java.nio.file.Files.list(blobs)) {
                return files.findAny().isEmpty();
            }
        });

        Channel consumer = channel(2);
        GetResponse[] got = new GetResponse[1];
        await().atMost(Duration.ofSeconds(30)).until(() -> (got[0] = consumer.basicGet("large", true)) != null);
        assertThat(got[0].getBody()).isEqualTo(body);
    }

    @Test
    void shouldShowTheClusterInTheManagementApiAndCtl() throws Exception {
        channel(0).queueDeclare("shown", true, false, false, QUORUM);
        awaitKnownEverywhere("shown");
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = new CommandLine(new Ctl())
                .setOut(new PrintWriter(out))
                .setErr(new PrintWriter(err))
                .execute(
                        "status", "--url", "http://127.0.0.1:" + cluster.node(1).httpPort());
        assertThat(code).as(err.toString()).isZero();
        assertThat(out.toString())
                .contains("n1", "n2", "n3", "Raft groups of quorum queues, as node n2 sees them", "leader");

        StringWriter queues = new StringWriter();
        new CommandLine(new Ctl())
                .setOut(new PrintWriter(queues))
                .execute(
                        "list",
                        "queues",
                        "--json",
                        "--url",
                        "http://127.0.0.1:" + cluster.node(2).httpPort());
        assertThat(queues.toString()).contains("\"type\" : \"quorum\"", "\"members\"", "\"leader\"");
    }

    @Test
    void shouldRouteThroughAnyNodeToAQuorumQueueBoundOnAnother() throws Exception {
        Channel binder = channel(0);
        binder.exchangeDeclare("events", "topic", true);
        binder.queueDeclare("orders.created", true, false, false, QUORUM);
        binder.queueBind("orders.created", "events", "order.*");
        awaitKnownEverywhere("orders.created");

        // node 2 never saw the exchange declared: the binding brought it along
        Channel publisher = channel(1);
        publisher.confirmSelect();
        await().atMost(Duration.ofSeconds(20))
                .until(() -> cluster.node(1).broker().vhost("/").exchange("events") != null);
        publisher.basicPublish("events", "order.created", true, MessageProperties.PERSISTENT_BASIC, body(1));
        publisher.waitForConfirmsOrDie(30_000);
        Channel reader = channel(2);
        GetResponse[] got = new GetResponse[1];
        await().atMost(Duration.ofSeconds(20)).until(() -> (got[0] = reader.basicGet("orders.created", true)) != null);
        assertThat(text(got[0].getBody())).isEqualTo("1");

        binder.queueUnbind("orders.created", "events", "order.*");
        List<Integer> returned = new CopyOnWriteArrayList<>();
        publisher.addReturnListener(r -> returned.add(r.getReplyCode()));
        await().atMost(Duration.ofSeconds(20)).until(() -> {
            publisher.basicPublish("events", "order.created", true, MessageProperties.PERSISTENT_BASIC, body(2));
            publisher.waitForConfirmsOrDie(30_000);
            return !returned.isEmpty();
        });
        assertThat(returned).contains(312); // NO_ROUTE once the unbinding reached node 2
    }

    @Test
    void shouldHandleEachMessageOnceWithConsumersOnEveryNode() throws Exception {
        channel(0).queueDeclare("shared", true, false, false, QUORUM);
        awaitKnownEverywhere("shared");
        List<String> handled = new CopyOnWriteArrayList<>();
        Map<Integer, Integer> perNode = new ConcurrentHashMap<>();
        for (int node = 0; node < 3; node++) {
            int n = node;
            Channel consumer = channel(node);
            consumer.basicQos(10);
            consumer.basicConsume(
                    "shared",
                    false,
                    (tag, delivery) -> {
                        handled.add(text(delivery.getBody()));
                        perNode.merge(n, 1, Integer::sum);
                        consumer.basicAck(delivery.getEnvelope().getDeliveryTag(), false);
                    },
                    tag -> {});
        }
        Channel publisher = channel(1);
        publisher.confirmSelect();
        for (int i = 0; i < 300; i++) {
            publisher.basicPublish("", "shared", MessageProperties.PERSISTENT_BASIC, body(i));
        }
        publisher.waitForConfirmsOrDie(30_000);

        await().atMost(Duration.ofSeconds(30)).until(() -> handled.size() >= 300);
        assertThat(handled).hasSize(300).doesNotHaveDuplicates();
        assertThat(perNode).as("every node's consumer took a share").hasSize(3);
    }

    @Test
    void shouldMoveMessagesOutOfAQuorumQueueForARedrive() throws Exception {
        Channel channel = channel(0);
        channel.queueDeclare("parked", true, false, false, QUORUM);
        channel.queueDeclare("retry", true, false, false, QUORUM);
        awaitKnownEverywhere("parked");
        awaitKnownEverywhere("retry");
        channel.confirmSelect();
        for (int i = 0; i < 5; i++) {
            channel.basicPublish("", "parked", MessageProperties.PERSISTENT_BASIC, body(i));
        }
        channel.waitForConfirmsOrDie(30_000);

        int moved = cluster.node(1)
                .broker()
                .vhost("/")
                .moveMessages("parked", "retry", 3, null)
                .get(30, TimeUnit.SECONDS);

        assertThat(moved).isEqualTo(3);
        Channel reader = channel(2);
        await().atMost(Duration.ofSeconds(20))
                .until(() -> reader.queueDeclarePassive("retry").getMessageCount() == 3);
        assertThat(reader.queueDeclarePassive("parked").getMessageCount()).isEqualTo(2);
        List<String> order = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            order.add(text(reader.basicGet("retry", true).getBody()));
        }
        assertThat(order).containsExactly("0", "1", "2");
    }

    @Test
    void shouldLetAConsumerAckWhatItHeldAfterBasicCancel() throws Exception {
        Channel declarer = channel(0);
        declarer.queueDeclare("graceful", true, false, false, QUORUM);
        awaitKnownEverywhere("graceful");
        declarer.confirmSelect();
        for (int i = 0; i < 10; i++) {
            declarer.basicPublish("", "graceful", MessageProperties.PERSISTENT_BASIC, body(i));
        }
        declarer.waitForConfirmsOrDie(30_000);

        // a listener container stopping: cancel, finish the work in hand, ack it
        Channel worker = channel(1);
        worker.basicQos(4);
        List<Long> inHand = new CopyOnWriteArrayList<>();
        String tag = worker.basicConsume(
                "graceful",
                false,
                (t, delivery) -> inHand.add(delivery.getEnvelope().getDeliveryTag()),
                t -> {});
        await().atMost(Duration.ofSeconds(20)).until(() -> inHand.size() == 4);
        worker.basicCancel(tag);
        for (long deliveryTag : inHand) {
            worker.basicAck(deliveryTag, false);
        }
        // what the worker's node held beyond its prefetch goes back (Release) behind the cancel:
        // wait for it, or the next consumer may get 8 and 9 before 4..7 are back
        await().atMost(Duration.ofSeconds(20))
                .until(() -> declarer.queueDeclarePassive("graceful").getMessageCount() == 6);

        Channel next = channel(2);
        List<String> received = new CopyOnWriteArrayList<>();
        List<Boolean> redelivered = new CopyOnWriteArrayList<>();
        next.basicConsume(
                "graceful",
                true,
                (t, delivery) -> {
                    received.add(text(delivery.getBody()));
                    redelivered.add(delivery.getEnvelope().isRedeliver()
                            || (delivery.getProperties().getHeaders() != null
                                    && delivery.getProperties().getHeaders().containsKey("x-delivery-count")));
                },
                t -> {});
        await().atMost(Duration.ofSeconds(20)).until(() -> received.size() >= 6);
        assertThat(received).containsExactly("4", "5", "6", "7", "8", "9"); // the acked four never come back
        assertThat(redelivered)
                .as("the worker's node held 4..7 ahead of its credit; they went back without counting a delivery")
                .containsOnly(false);
        await().atMost(Duration.ofSeconds(10))
                .until(() -> declarer.queueDeclarePassive("graceful").getMessageCount() == 0);
    }

    /**
     * An auto-ack consumer that cannot take messages (its socket full) gets a bounded window on its
     * node, not the whole backlog; when it goes, what waited there goes back to the queue. Auto-ack
     * used to check out without a limit: the backlog moved to the node and was lost with the
     * consumer.
     */
    @Test
    void shouldGiveBackWhatWaitedOnTheNodeWhenAStalledAutoAckConsumerGoes() throws Exception {
        Channel declarer = channel(0);
        declarer.queueDeclare("backlog", true, false, false, QUORUM);
        awaitKnownEverywhere("backlog");
        declarer.confirmSelect();
        int messages = 2_000;
        for (int i = 0; i < messages; i++) {
            declarer.basicPublish("", "backlog", MessageProperties.PERSISTENT_BASIC, body(i));
        }
        declarer.waitForConfirmsOrDie(30_000);

        MessageQueue queue = cluster.node(1).broker().vhost("/").findQueue("backlog");
        Consumer stalled = new Consumer() {
            @Override
            public String consumerTag() {
                return "stalled";
            }

            @Override
            public boolean autoAck() {
                return true;
            }

            @Override
            public int priority() {
                return 0;
            }

            @Override
            public boolean tryAcquireCredit() {
                return false; // the channel's socket is full
            }

            @Override
            public void deliver(Delivery delivery) {
                delivery.message().release();
            }

            @Override
            public void onQueueDeleted() {}
        };
        queue.addConsumer(stalled, false).get(20, TimeUnit.SECONDS);
        await().atMost(Duration.ofSeconds(20))
                .until(() -> queue.messageCount() == messages - 512); // QuorumQueue.AUTO_ACK_WINDOW

        queue.removeConsumer(stalled).get(20, TimeUnit.SECONDS);
        await().atMost(Duration.ofSeconds(20))
                .until(() -> declarer.queueDeclarePassive("backlog").getMessageCount() == messages);
        List<String> received = new CopyOnWriteArrayList<>();
        channel(2).basicConsume("backlog", true, (t, delivery) -> received.add(text(delivery.getBody())), t -> {});
        await().atMost(Duration.ofSeconds(30)).until(() -> received.size() == messages);
        assertThat(received)
                .as("in order, none lost")
                .isEqualTo(
                        IntStream.range(0, messages).mapToObj(Integer::toString).toList());
    }

    /**
     * basic.consume exclusive holds on a quorum queue across nodes, as on a classic queue (RabbitMQ's
     * quorum queues ignore the flag): a consumer on another node is refused with 403 while the
     * exclusive one is there, and may consume once it has gone.
     */
    @Test
    void shouldKeepAnExclusiveConsumerAloneOnTheQueueFromEveryNode() throws Exception {
        Channel declarer = channel(0);
        declarer.queueDeclare("solo", true, false, false, QUORUM);
        awaitKnownEverywhere("solo");
        Channel owner = channel(0);
        String tag = owner.basicConsume("solo", false, "", false, true, null, (t, d) -> {}, t -> {});

        Channel other = channel(1);
        ShutdownSignalException refused = closedBy(() -> other.basicConsume("solo", false, (t, d) -> {}, t -> {}));
        assertThat(replyCode(refused)).isEqualTo(403);
        assertThat(replyText(refused)).contains("queue 'solo' in vhost '/' in exclusive use");
        Channel rival = channel(2);
        assertThat(replyCode(closedBy(
                        () -> rival.basicConsume("solo", false, "", false, true, null, (t, d) -> {}, t -> {}))))
                .isEqualTo(403);

        owner.basicCancel(tag);
        List<String> received = new CopyOnWriteArrayList<>();
        channel(1).basicConsume("solo", true, (t, d) -> received.add(text(d.getBody())), t -> {});
        declarer.basicPublish("", "solo", MessageProperties.PERSISTENT_BASIC, body(1));
        await().atMost(Duration.ofSeconds(20)).until(() -> received.equals(List.of("1")));
    }

    @Test
    void shouldRefuseQuorumQueuesThatCannotBeReplicated() throws Exception {
        Channel channel = channel(0);
        assertThat(replyText(closedBy(() -> channel.queueDeclare("q1", false, false, false, QUORUM))))
                .contains("invalid property 'non-durable' for queue 'q1'");
        Channel second = channel(0);
        assertThat(replyCode(closedBy(() -> second.queueDeclare("q2", true, true, false, QUORUM))))
                .isEqualTo(406);
        Channel third = channel(0);
        assertThat(replyText(closedBy(() -> third.queueDeclare("q3", true, false, true, QUORUM))))
                .contains("invalid property 'auto-delete'");
    }

    @Test
    void shouldRedeliverUnackedMessagesToAnotherNodesConsumerWhenTheFirstGoes() throws Exception {
        Channel declarer = channel(0);
        declarer.queueDeclare("jobs", true, false, false, QUORUM);
        awaitKnownEverywhere("jobs");
        declarer.confirmSelect();
        for (int i = 0; i < 10; i++) {
            declarer.basicPublish("", "jobs", MessageProperties.PERSISTENT_BASIC, body(i));
        }
        declarer.waitForConfirmsOrDie(30_000);

        Channel first = channel(1);
        first.basicQos(10);
        List<String> held = new CopyOnWriteArrayList<>();
        first.basicConsume("jobs", false, (tag, delivery) -> held.add(text(delivery.getBody())), tag -> {});
        await().atMost(Duration.ofSeconds(20)).until(() -> held.size() == 10);
        first.getConnection().close(); // never acked: the messages go back

        Channel second = channel(2);
        Map<String, Object> redelivered = new ConcurrentHashMap<>();
        second.basicConsume(
                "jobs",
                true,
                (tag, delivery) -> {
                    assertThat(delivery.getEnvelope().isRedeliver()).isTrue();
                    Object count = delivery.getProperties().getHeaders() == null
                            ? null
                            : delivery.getProperties().getHeaders().get("x-delivery-count");
                    redelivered.put(text(delivery.getBody()), count == null ? "none" : count);
                },
                tag -> {});
        await().atMost(Duration.ofSeconds(20)).until(() -> redelivered.size() == 10);
        assertThat(redelivered.values()).allMatch(count -> count.equals(1L));
    }

    @Test
    void shouldGetPurgeAndDeleteFromAnyNode() throws Exception {
        Channel declarer = channel(0);
        declarer.queueDeclare("box", true, false, false, QUORUM);
        awaitKnownEverywhere("box");
        declarer.confirmSelect();
        for (int i = 0; i < 5; i++) {
            declarer.basicPublish("", "box", MessageProperties.PERSISTENT_BASIC, body(i));
        }
        declarer.waitForConfirmsOrDie(30_000);
        Channel counter = channel(2);
        await().atMost(Duration.ofSeconds(20))
                .until(() -> counter.queueDeclarePassive("box").getMessageCount() == 5); // counts on every node

        Channel getter = channel(1);
        GetResponse first = getter.basicGet("box", false);
        assertThat(text(first.getBody())).isEqualTo("0");
        assertThat(first.getMessageCount()).isEqualTo(4);
        getter.basicAck(first.getEnvelope().getDeliveryTag(), false);
        GetResponse second = getter.basicGet("box", true);
        assertThat(text(second.getBody())).isEqualTo("1");

        assertThat(getter.queuePurge("box").getMessageCount()).isEqualTo(3);
        Channel watcher = channel(2);
        Set<String> cancelled = ConcurrentHashMap.newKeySet();
        watcher.basicConsume("box", false, (tag, delivery) -> {}, cancelled::add);

        assertThat(channel(0).queueDelete("box").getMessageCount()).isZero();
        await().atMost(Duration.ofSeconds(20)).until(() -> !cancelled.isEmpty()); // basic.cancel on node 3
        await().atMost(Duration.ofSeconds(20)).until(() -> {
            for (int n = 0; n < 3; n++) {
                if (cluster.node(n).broker().vhost("/").findQueue("box") != null) {
                    return false;
                }
            }
            return true;
        });
    }

    @Test
    void shouldDeadLetterAfterTheDeliveryLimitThroughTheDefaultExchange() throws Exception {
        Channel channel = channel(0);
        channel.queueDeclare("poison.dlq", true, false, false, QUORUM);
        Map<String, Object> arguments = new HashMap<>(QUORUM);
        arguments.put("x-delivery-limit", 1);
        arguments.put("x-dead-letter-exchange", "");
        arguments.put("x-dead-letter-routing-key", "poison.dlq");
        channel.queueDeclare("poison", true, false, false, arguments);
        awaitKnownEverywhere("poison");
        awaitKnownEverywhere("poison.dlq");
        channel.confirmSelect();
        channel.basicPublish("", "poison", MessageProperties.PERSISTENT_BASIC, body(7));
        channel.waitForConfirmsOrDie(30_000);

        Channel consumer = channel(1);
        consumer.basicConsume(
                "poison",
                false,
                (tag, delivery) -> consumer.basicNack(delivery.getEnvelope().getDeliveryTag(), false, true),
                tag -> {});

        Channel reader = channel(2);
        GetResponse[] dead = new GetResponse[1];
        await().atMost(Duration.ofSeconds(30)).until(() -> (dead[0] = reader.basicGet("poison.dlq", true)) != null);
        assertThat(text(dead[0].getBody())).isEqualTo("7");
        assertThat(dead[0].getProps().getHeaders()).containsKey("x-death");
    }

    @Test
    void shouldDeadLetterAfterTwentyFailedDeliveriesWhenNoLimitIsSet() throws Exception {
        Channel channel = channel(0);
        channel.queueDeclare("poison.default.dlq", true, false, false, QUORUM);
        Map<String, Object> arguments = new HashMap<>(QUORUM);
        arguments.put("x-dead-letter-exchange", "");
        arguments.put("x-dead-letter-routing-key", "poison.default.dlq");
        channel.queueDeclare("poison.default", true, false, false, arguments); // no x-delivery-limit
        awaitKnownEverywhere("poison.default");
        awaitKnownEverywhere("poison.default.dlq");
        channel.confirmSelect();
        channel.basicPublish("", "poison.default", MessageProperties.PERSISTENT_BASIC, body(20));
        channel.waitForConfirmsOrDie(30_000);

        Channel consumer = channel(1);
        List<Object> deliveryCounts = new CopyOnWriteArrayList<>();
        consumer.basicConsume(
                "poison.default",
                false,
                (tag, delivery) -> {
                    Map<String, Object> headers = delivery.getProperties().getHeaders();
                    deliveryCounts.add(headers == null ? 0L : headers.getOrDefault("x-delivery-count", 0L));
                    consumer.basicNack(delivery.getEnvelope().getDeliveryTag(), false, true);
                },
                tag -> {});

        GetResponse[] dead = new GetResponse[1];
        await().atMost(Duration.ofSeconds(60))
                .until(() -> (dead[0] = channel.basicGet("poison.default.dlq", true)) != null);
        assertThat(text(dead[0].getBody())).isEqualTo("20");
        // RabbitMQ's quorum queue default: 20 failed deliveries, so 21 deliveries in all
        assertThat(deliveryCounts).hasSize(21);
        assertThat(deliveryCounts.get(20)).isEqualTo(20L);
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> deaths =
                (List<Map<String, Object>>) dead[0].getProps().getHeaders().get("x-death");
        assertThat(deaths.get(0).get("reason").toString()).isEqualTo("delivery_limit");
    }

    @Test
    void shouldLogANodeLeavingAndComingBackOnEachOtherNode() throws Exception {
        ch.qos.logback.classic.Logger logger =
                (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger("dev.courier.cluster.MembershipLog");
        ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> logged =
                new ch.qos.logback.core.read.ListAppender<>();
        logged.start();
        logger.addAppender(logged);
        try {
            cluster.stop(0);
            // each of the others leads a group, so each notices, not only the leader of n1's group
            // ("is not answering" when it stopped before their first look at the cluster)
            await().atMost(Duration.ofSeconds(30))
                    .until(() -> count(logged, "WARN cluster node n1 .* \\(n2 leads") > 0
                            && count(logged, "WARN cluster node n1 .* \\(n3 leads") > 0);

            cluster.restart(0);
            await().atMost(Duration.ofSeconds(30))
                    .until(() -> count(logged, "INFO cluster node n1 (is back|joined) \\(seen from n2\\)") > 0
                            && count(logged, "INFO cluster node n1 (is back|joined) \\(seen from n3\\)") > 0
                            && count(logged, "INFO cluster node n2 joined \\(seen from n1\\)") > 0);
            // once per change on each node: MembershipLogTest; a slow machine may see a peer flap
        } finally {
            logger.detachAppender(logged);
        }
    }

    private static long count(
            ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> logged, String regex) {
        return List.copyOf(logged.list).stream()
                .map(e -> e.getLevel() + " " + e.getFormattedMessage())
                .filter(line ->
                        java.util.regex.Pattern.compile(regex).matcher(line).find())
                .count();
    }

    @Test
    void shouldKeepPublishingAndConsumingWhenANodeStops() throws Exception {
        Channel declarer = channel(0);
        declarer.queueDeclare("ha", true, false, false, QUORUM);
        awaitKnownEverywhere("ha");
        Channel publisher = channel(1);
        publisher.confirmSelect();
        for (int i = 0; i < 100; i++) {
            publisher.basicPublish("", "ha", MessageProperties.PERSISTENT_BASIC, body(i));
        }
        publisher.waitForConfirmsOrDie(30_000);

        // stop a node that is neither the publisher's nor the consumer's: whichever led the group
        // of "ha" among the others, a majority (2 of 3) remains
        cluster.stop(0);
        for (int i = 100; i < 200; i++) {
            publisher.basicPublish("", "ha", MessageProperties.PERSISTENT_BASIC, body(i));
        }
        publisher.waitForConfirmsOrDie(30_000);

        Channel consumer = channel(2);
        Set<String> received = ConcurrentHashMap.newKeySet();
        consumer.basicConsume("ha", true, (tag, delivery) -> received.add(text(delivery.getBody())), tag -> {});
        await().atMost(Duration.ofSeconds(30)).until(() -> received.size() >= 200);
        assertThat(received).hasSize(200);
    }
}
