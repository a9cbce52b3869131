package dev.courier.system;

import static org.assertj.core.api.Assertions.assertThat;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.GetResponse;
import com.rabbitmq.client.MessageProperties;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Several rounds of: restart on the same data dir, check every queue against what the test knows
 * (every confirmed, unacknowledged message present exactly once and in order; no acknowledged one
 * back), acknowledge half of them, then publish with confirms from several threads and {@code kill -9}
 * the broker in the middle.
 */
@Tag("system")
class RepeatedCrashIT {
    private static final int QUEUES = 4;
    private static final int ROUNDS = 3;
    private static final int BATCH = 50;

    @TempDir
    Path dataDir;

    /** What a queue must hold: confirmed ids not yet acknowledged, in publish order. */
    private final List<List<Integer>> mustHold = new ArrayList<>();
    /** Ids published but not confirmed when the broker died: each may or may not be there. */
    private final List<List<Integer>> mayHold = new ArrayList<>();
    /** Ids acknowledged before a later confirmed publish: never to be seen again. */
    private final List<Set<Integer>> acked = new ArrayList<>();

    private final int[] nextId = new int[QUEUES];

    @Test
    void shouldKeepConfirmedMessagesAndForgetAckedOnesThroughRepeatedKillDashNine() throws Exception {
        for (int q = 0; q < QUEUES; q++) {
            mustHold.add(new CopyOnWriteArrayList<>());
            mayHold.add(new CopyOnWriteArrayList<>());
            acked.add(new HashSet<>());
        }
        for (int round = 0; round < ROUNDS; round++) {
            try (BrokerProcess broker = BrokerProcess.start(dataDir)) {
                ConnectionFactory factory = new ConnectionFactory();
                factory.setPort(broker.amqpPort());
                factory.setAutomaticRecoveryEnabled(false);
                Connection checker = factory.newConnection();
                Channel channel = checker.createChannel();
                for (int q = 0; q < QUEUES; q++) {
                    channel.queueDeclare("crash-" + q, true, false, false, null);
                    checkAndAckHalf(channel, q, round);
                }
                publishAndKill(factory, broker);
                checker.abort();
            }
        }
        try (BrokerProcess broker = BrokerProcess.start(dataDir)) {
            ConnectionFactory factory = new ConnectionFactory();
            factory.setPort(broker.amqpPort());
            try (Connection connection = factory.newConnection()) {
                Channel channel = connection.createChannel();
                for (int q = 0; q < QUEUES; q++) {
                    checkAndAckHalf(channel, q, ROUNDS);
                }
            }
        }
    }

    /** Reads the whole queue (unacked), checks it against the model, acks the first half. */
    private void checkAndAckHalf(Channel channel, int q, int round) throws Exception {
        String queue = "crash-" + q;
        List<Integer> seen = new ArrayList<>();
        List<Long> tags = new ArrayList<>();
        GetResponse response;
        while ((response = channel.basicGet(queue, false)) != null) {
            seen.add(Integer.parseInt(new String(response.getBody(), StandardCharsets.UTF_8)));
            tags.add(response.getEnvelope().getDeliveryTag());
        }
        List<Integer> must = mustHold.get(q);
        assertThat(seen.size())
                .as("round %d queue %s: at least every confirmed, unacked message", round, queue)
                .isGreaterThanOrEqualTo(must.size());
        assertThat(seen.subList(0, must.size()))
                .as("round %d queue %s: confirmed messages, in order, once", round, queue)
                .isEqualTo(must);
        List<Integer> extra = seen.subList(must.size(), seen.size());
        assertThat(mayHold.get(q))
                .as("round %d queue %s: the rest were in flight at the kill", round, queue)
                .containsAll(extra);
        assertThat(extra).as("in publish order, no duplicates").isSorted().doesNotHaveDuplicates();
        for (Integer id : seen) {
            assertThat(acked.get(q))
                    .as("round %d queue %s: acknowledged %d came back", round, queue, id)
                    .doesNotContain(id);
        }

        // the survivors are now known; ack the first half, keep the rest (requeued at the kill)
        int half = seen.size() / 2;
        for (int i = 0; i < half; i++) {
            channel.basicAck(tags.get(i), false);
            acked.get(q).add(seen.get(i));
        }
        channel.queueDeclarePassive(queue); // a round trip: the queue has taken the acks
        must.clear();
        must.addAll(seen.subList(half, seen.size()));
        mayHold.get(q).clear();
    }

    /** One publisher thread per queue, confirms per batch of 50; kill -9 once ~1,500 are confirmed. */
    private void publishAndKill(ConnectionFactory factory, BrokerProcess broker) throws Exception {
        AtomicInteger confirmedTotal = new AtomicInteger();
        CountDownLatch enough = new CountDownLatch(1);
        List<Thread> publishers = new ArrayList<>();
        for (int q = 0; q < QUEUES; q++) {
            int queue = q;
            Thread publisher = new Thread(
                    () -> {
                        try (Connection connection = factory.newConnection()) {
                            Channel channel = connection.createChannel();
                            channel.confirmSelect();
                            while (true) {
                                List<Integer> batch = new ArrayList<>(BATCH);
                                for (int i = 0; i < BATCH; i++) {
                                    int id = nextId[queue]++;
                                    batch.add(id);
                                    mayHold.get(queue).add(id);
                                    channel.basicPublish(
                                            "",
                                            "crash-" + queue,
                                            MessageProperties.PERSISTENT_BASIC,
                                            Integer.toString(id).getBytes(StandardCharsets.UTF_8));
                                }
                                channel.waitForConfirmsOrDie(30_000);
                                mustHold.get(queue).addAll(batch);
                                mayHold.get(queue).removeAll(batch);
                                if (confirmedTotal.addAndGet(BATCH) >= 1_500) {
                                    enough.countDown();
                                }
                            }
                        } catch (Exception e) {
                            // the broker was killed: this publisher is done
                        }
                    },
                    "publisher-" + q);
            publishers.add(publisher);
            publisher.start();
        }
        assertThat(enough.await(60, TimeUnit.SECONDS))
                .as("publishers made progress")
                .isTrue();
        broker.kill();
        for (Thread publisher : publishers) {
            publisher.join(TimeUnit.SECONDS.toMillis(60));
            assertThat(publisher.isAlive()).isFalse();
        }
    }
}
