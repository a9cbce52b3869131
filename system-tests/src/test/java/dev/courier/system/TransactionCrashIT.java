package dev.courier.system;

import static org.assertj.core.api.Assertions.assertThat;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.GetResponse;
import com.rabbitmq.client.MessageProperties;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Consume-transform-produce in transactions while the broker is killed with {@code kill -9}:
 * after every restart each input is either still waiting in the input queue or transformed in
 * the output queue, never both and never neither, and every transaction that got commit-ok is
 * kept. That is what makes a transaction's acks and publishes one store record.
 */
@Tag("system")
class TransactionCrashIT {
    private static final int INPUTS = 3_000;
    private static final int ROUNDS = 3;
    private static final int BATCH = 5;

    @TempDir
    Path dataDir;

    @Test
    void shouldKeepEachTransactionWholeAcrossKillDashNine() throws Exception {
        try (BrokerProcess broker = BrokerProcess.start(dataDir)) {
            try (Connection connection = connect(broker)) {
                Channel channel = connection.createChannel();
                channel.queueDeclare("tx-in", true, false, false, null);
                channel.queueDeclare("tx-out", true, false, false, null);
                channel.confirmSelect();
                for (int i = 0; i < INPUTS; i++) {
                    channel.basicPublish("", "tx-in", MessageProperties.PERSISTENT_BASIC, bytes(Integer.toString(i)));
                }
                channel.waitForConfirmsOrDie(60_000);
            }
            runUntilKilled(broker, 150);
        }
        Set<String> committed = new HashSet<>();
        for (int round = 1; round <= ROUNDS; round++) {
            try (BrokerProcess broker = BrokerProcess.start(dataDir)) {
                List<String> outputs = checkEveryInputOnce(broker);
                assertThat(outputs)
                        .as("round %d: every committed transformation survived", round)
                        .containsAll(committed);
                committed.addAll(outputs);
                if (round < ROUNDS) {
                    runUntilKilled(broker, 150);
                }
            }
        }
    }

    /** Transforms inputs in transactions of {@link #BATCH} until {@code commits} more commits, then kills the broker. */
    private static void runUntilKilled(BrokerProcess broker, int commits) throws Exception {
        AtomicInteger done = new AtomicInteger();
        Connection connection = connect(broker);
        Thread transformer = new Thread(() -> {
            try {
                Channel channel = connection.createChannel();
                channel.txSelect();
                while (true) {
                    long lastTag = 0;
                    for (int i = 0; i < BATCH; i++) {
                        GetResponse input = channel.basicGet("tx-in", false);
                        if (input == null) {
                            break;
                        }
                        channel.basicPublish(
                                "",
                                "tx-out",
                                MessageProperties.PERSISTENT_BASIC,
                                bytes("out-" + new String(input.getBody(), StandardCharsets.UTF_8)));
                        lastTag = input.getEnvelope().getDeliveryTag();
                    }
                    if (lastTag != 0) {
                        channel.basicAck(lastTag, true);
                    }
                    channel.txCommit();
                    done.incrementAndGet();
                }
            } catch (Exception expected) {
                // the broker was killed
            }
        });
        transformer.start();
        Awaitility.await().atMost(Duration.ofMinutes(2)).until(() -> done.get() >= commits || !transformer.isAlive());
        broker.kill();
        connection.abort();
        transformer.join(60_000);
        assertThat(done.get()).as("transactions committed before the kill").isGreaterThan(0);
    }

    /** Reads both queues (leaving them as they are) and checks the invariant; answers the outputs. */
    private static List<String> checkEveryInputOnce(BrokerProcess broker) throws Exception {
        try (Connection connection = connect(broker)) {
            List<String> inputs = peekAll(connection, "tx-in");
            List<String> outputs = peekAll(connection, "tx-out");
            Set<String> seen = new HashSet<>(inputs);
            assertThat(seen).as("no input twice").hasSize(inputs.size());
            for (String output : outputs) {
                String input = output.substring("out-".length());
                assertThat(seen.add(input))
                        .as("input %s is both waiting and transformed, or transformed twice", input)
                        .isTrue();
            }
            assertThat(seen).as("every input is waiting or transformed").hasSize(INPUTS);
            return outputs;
        }
    }

    private static List<String> peekAll(Connection connection, String queue) throws Exception {
        Channel channel = connection.createChannel();
        List<String> bodies = new ArrayList<>();
        GetResponse response;
        while ((response = channel.basicGet(queue, false)) != null) {
            bodies.add(new String(response.getBody(), StandardCharsets.UTF_8));
        }
        channel.close(); // unacked: all of them go back
        return bodies;
    }

    private static Connection connect(BrokerProcess broker) throws Exception {
        ConnectionFactory factory = new ConnectionFactory();
        factory.setPort(broker.amqpPort());
        factory.setAutomaticRecoveryEnabled(false);
        return factory.newConnection();
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
