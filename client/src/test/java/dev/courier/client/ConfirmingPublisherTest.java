package dev.courier.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.GetResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Publisher confirms as futures, and retries under the same message id across connection losses. */
class ConfirmingPublisherTest {
    @RegisterExtension
    static final TestBroker broker = new TestBroker();

    private static final AMQP.BasicProperties PERSISTENT =
            new AMQP.BasicProperties.Builder().deliveryMode(2).build();

    private final List<Connection> opened = new CopyOnWriteArrayList<>();

    @Test
    void shouldCompleteEachFutureWhenTheBrokerConfirms() throws Exception {
        String queue = durableQueue(Map.of());
        try (ConfirmingPublisher publisher = publisher().start()) {
            List<CompletableFuture<ConfirmingPublisher.Confirmation>> futures = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                futures.add(publisher.publish("", queue, PERSISTENT, body(i)));
            }
            futures.add(publisher.publish(
                    "",
                    queue,
                    new AMQP.BasicProperties.Builder().messageId("mine").build(),
                    body(200)));

            Set<String> ids = new HashSet<>();
            for (CompletableFuture<ConfirmingPublisher.Confirmation> future : futures) {
                ConfirmingPublisher.Confirmation confirmation = future.get(30, TimeUnit.SECONDS);
                assertThat(confirmation.attempts()).isEqualTo(1);
                ids.add(confirmation.messageId());
            }
            assertThat(ids).hasSize(201).contains("mine");
            assertThat(publisher.unconfirmedCount()).isZero();
            assertThat(drain(queue)).containsExactlyInAnyOrderElementsOf(ids);
        }
    }

    @Test
    void shouldFailAMessageThatNoQueueTakesWithTheBrokersReturn() throws Exception {
        try (ConfirmingPublisher publisher = publisher().start()) {
            CompletableFuture<ConfirmingPublisher.Confirmation> future =
                    publisher.publish("amq.direct", TestBroker.unique("unbound"), null, body(0));

            assertThatThrownBy(() -> future.get(30, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class)
                    .cause()
                    .isInstanceOf(UnroutableMessageException.class)
                    .hasMessageContaining("312");
            // the same publisher goes on working
            String queue = durableQueue(Map.of());
            assertThat(publisher.publish("", queue, null, body(1)).get(30, TimeUnit.SECONDS))
                    .isNotNull();
        }
    }

    @Test
    void shouldFailAMessageTheBrokerNacks() throws Exception {
        String queue = durableQueue(Map.of("x-max-length", 1, "x-overflow", "reject-publish"));
        try (ConfirmingPublisher publisher = publisher().start()) {
            CompletableFuture<ConfirmingPublisher.Confirmation> first = publisher.publish("", queue, null, body(0));
            CompletableFuture<ConfirmingPublisher.Confirmation> second = publisher.publish("", queue, null, body(1));

            assertThat(first.get(30, TimeUnit.SECONDS).attempts()).isEqualTo(1);
            assertThatThrownBy(() -> second.get(30, TimeUnit.SECONDS))
                    .cause()
                    .isInstanceOf(PublishNackedException.class);
        }
    }

    @Test
    void shouldPublishANackedMessageAgainWhenToldTo() throws Exception {
        String queue = durableQueue(Map.of("x-max-length", 1, "x-overflow", "reject-publish"));
        try (ConfirmingPublisher publisher = publisher()
                .retryNacked(true)
                .maxAttempts(1_000)
                .reconnectBackoff(java.time.Duration.ofMillis(10), java.time.Duration.ofMillis(50))
                .start()) {
            assertThat(publisher
                            .publish("", queue, null, body(0))
                            .get(30, TimeUnit.SECONDS)
                            .attempts())
                    .isEqualTo(1);
            CompletableFuture<ConfirmingPublisher.Confirmation> second = publisher.publish("", queue, null, body(1));
            await().until(() -> publisher.nackCount() >= 2); // refused while the queue is full, and again

            try (Connection connection = broker.factory().newConnection()) { // room again
                assertThat(connection.createChannel().basicGet(queue, true)).isNotNull();
            }
            assertThat(second.get(30, TimeUnit.SECONDS).attempts()).isGreaterThanOrEqualTo(3);
            assertThat(drain(queue)).containsExactly(second.get().messageId());
        }
    }

    @Test
    void shouldPublishUnconfirmedMessagesAgainWithTheSameIdsAfterAConnectionLoss() throws Exception {
        String queue = durableQueue(Map.of("x-message-deduplication", true));
        try (ConfirmingPublisher publisher = publisher().start()) {
            List<CompletableFuture<ConfirmingPublisher.Confirmation>> futures = new ArrayList<>();
            try {
                futures.add(block(publisher, queue));
                for (int i = 0; i < 10; i++) {
                    futures.add(publisher.publish("", queue, PERSISTENT, body(i)));
                }
                // the broker does not read from a blocked connection: these wait unconfirmed
                opened.get(0).abort(500); // the network drops the connection
                await().until(() -> publisher.reconnectCount() == 1);
            } finally {
                unblockPublishers();
            }

            List<ConfirmingPublisher.Confirmation> confirmations = new ArrayList<>();
            for (CompletableFuture<ConfirmingPublisher.Confirmation> future : futures) {
                confirmations.add(future.get(30, TimeUnit.SECONDS));
            }
            assertThat(confirmations).filteredOn(c -> c.attempts() == 2).hasSizeGreaterThanOrEqualTo(10);
            assertThat(drain(queue))
                    .containsExactlyInAnyOrderElementsOf(confirmations.stream()
                            .map(ConfirmingPublisher.Confirmation::messageId)
                            .toList());
        }
    }

    @Test
    void shouldFailAMessageStillUnconfirmedAfterMaxAttempts() throws Exception {
        String queue = durableQueue(Map.of());
        try (ConfirmingPublisher publisher = publisher().maxAttempts(1).start()) {
            List<CompletableFuture<ConfirmingPublisher.Confirmation>> futures = new ArrayList<>();
            try {
                block(publisher, queue);
                for (int i = 0; i < 5; i++) {
                    futures.add(publisher.publish("", queue, PERSISTENT, body(i)));
                }
                opened.get(0).abort(500);
                await().until(() -> publisher.reconnectCount() == 1);
            } finally {
                unblockPublishers();
            }

            int failed = 0;
            for (CompletableFuture<ConfirmingPublisher.Confirmation> future : futures) {
                try {
                    future.get(30, TimeUnit.SECONDS);
                } catch (ExecutionException e) {
                    assertThat(e.getCause())
                            .isInstanceOf(PublishNotConfirmedException.class)
                            .hasMessageContaining("1 attempt");
                    assertThat(((PublishNotConfirmedException) e.getCause()).messageId())
                            .isNotNull();
                    failed++;
                }
            }
            assertThat(failed).isEqualTo(5);
            // and the next message goes through on the new connection
            assertThat(publisher.publish("", queue, null, body(9)).get(30, TimeUnit.SECONDS))
                    .isNotNull();
        }
    }

    @Test
    void shouldDeliverEveryMessageExactlyOnceAcrossABrokerRestart() throws Exception {
        String queue = durableQueue(Map.of("x-message-deduplication", true));
        List<CompletableFuture<ConfirmingPublisher.Confirmation>> futures = new ArrayList<>();
        ConfirmingPublisher.Builder builder = publisher();
        try (ConfirmingPublisher publisher = builder.start()) {
            for (int i = 0; i < 100; i++) { // confirmed before the restart
                futures.add(publisher.publish("", queue, PERSISTENT, body(i)));
            }
            CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
            for (int i = 100; i < 200; i++) { // in flight when the broker stops
                futures.add(publisher.publish("", queue, PERSISTENT, body(i)));
            }
            broker.stop();
            for (int i = 200; i < 300; i++) { // published while the broker is down
                futures.add(publisher.publish("", queue, PERSISTENT, body(i)));
            }
            broker.start(); // same data directory, new port: the supplier's next factory finds it

            List<String> confirmedIds = new ArrayList<>();
            for (CompletableFuture<ConfirmingPublisher.Confirmation> future : futures) {
                confirmedIds.add(future.get(60, TimeUnit.SECONDS).messageId());
            }
            assertThat(publisher.reconnectCount()).isGreaterThanOrEqualTo(1);
            assertThat(drain(queue)).containsExactlyInAnyOrderElementsOf(confirmedIds);
        }
    }

    @Test
    void shouldFailWaitingMessagesWhenClosed() throws Exception {
        String queue = durableQueue(Map.of());
        ConfirmingPublisher publisher = publisher().start();
        CompletableFuture<ConfirmingPublisher.Confirmation> waiting;
        try {
            block(publisher, queue);
            waiting = publisher.publish("", queue, PERSISTENT, body(1));
            publisher.close();
        } finally {
            unblockPublishers();
        }

        assertThatThrownBy(() -> waiting.get(30, TimeUnit.SECONDS))
                .cause()
                .isInstanceOf(PublishNotConfirmedException.class);
        assertThatThrownBy(() -> publisher.publish("", queue, null, body(2)).get(30, TimeUnit.SECONDS))
                .cause()
                .isInstanceOf(IllegalStateException.class);
    }

    @Test
    void shouldRefuseAConnectionWithAutomaticRecovery() {
        ConnectionFactory recovering = broker.factory();
        recovering.setAutomaticRecoveryEnabled(true);

        assertThatThrownBy(() ->
                        ConfirmingPublisher.builder(recovering::newConnection).start())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("automatic recovery");
    }

    /** A publisher whose every (re)connection asks the broker's current factory, so it follows restarts. */
    private ConfirmingPublisher.Builder publisher() {
        return ConfirmingPublisher.builder(() -> {
                    Connection connection = broker.track(broker.factory().newConnection());
                    opened.add(connection);
                    return connection;
                })
                .reconnectBackoff(java.time.Duration.ofMillis(20), java.time.Duration.ofMillis(200));
    }

    /**
     * Raises the broker's disk alarm and publishes one message, which gets the publisher's
     * connection blocked: from then on the broker reads nothing more from it, so whatever the
     * publisher sends stays unconfirmed. Returns the future of that one message.
     */
    private CompletableFuture<ConfirmingPublisher.Confirmation> block(ConfirmingPublisher publisher, String queue)
            throws InterruptedException {
        CountDownLatch blocked = new CountDownLatch(1);
        opened.get(opened.size() - 1).addBlockedListener(reason -> blocked.countDown(), () -> {});
        broker.server().alarms().diskFreeLimitBytes(Long.MAX_VALUE);
        await().until(() -> broker.server().alarms().reason() != null);
        CompletableFuture<ConfirmingPublisher.Confirmation> trigger =
                publisher.publish("", queue, PERSISTENT, body(-1));
        assertThat(blocked.await(30, TimeUnit.SECONDS)).isTrue();
        return trigger;
    }

    private static void unblockPublishers() {
        broker.server().alarms().diskFreeLimitBytes(0);
        await().until(() -> broker.server().alarms().reason() == null);
    }

    private static String durableQueue(Map<String, Object> arguments) throws Exception {
        try (Connection connection = broker.factory().newConnection()) {
            return connection
                    .createChannel()
                    .queueDeclare(TestBroker.unique("confirmed"), true, false, false, arguments)
                    .getQueue();
        }
    }

    /** Takes every message off the queue; answers their message ids. */
    private static List<String> drain(String queue) throws Exception {
        List<String> ids = new ArrayList<>();
        try (Connection connection = broker.factory().newConnection()) {
            Channel channel = connection.createChannel();
            GetResponse response;
            while ((response = channel.basicGet(queue, true)) != null) {
                ids.add(response.getProps().getMessageId());
            }
        }
        return ids;
    }

    private static byte[] body(int i) {
        return ("message " + i).getBytes(StandardCharsets.UTF_8);
    }
}
