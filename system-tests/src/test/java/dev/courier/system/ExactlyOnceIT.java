package dev.courier.system;

import static org.assertj.core.api.Assertions.assertThat;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import dev.courier.client.ConfirmingPublisher;
import dev.courier.client.ExactlyOnceConsumer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.awaitility.Awaitility;
import org.h2.jdbcx.JdbcDataSource;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The end-to-end proof of exactly-once processing: a producer that retries after losing
 * its connection (same message ids) into a deduplicating durable queue, the broker killed with
 * {@code kill -9} and restarted mid-stream, and a consumer that crashes mid-batch and comes back;
 * at the end the consumer's database holds every input exactly once.
 */
@Tag("system")
class ExactlyOnceIT {
    private static final int MESSAGES = 600;
    private static final String QUEUE = "payments";

    @TempDir
    Path brokerData;

    @TempDir
    Path appData;

    private volatile int port;

    private Connection connect() throws java.io.IOException, java.util.concurrent.TimeoutException {
        ConnectionFactory factory = new ConnectionFactory();
        factory.setPort(port);
        factory.setAutomaticRecoveryEnabled(false);
        return factory.newConnection();
    }

    private static JdbcDataSource database(Path dir) {
        JdbcDataSource dataSource = new JdbcDataSource();
        dataSource.setURL(
                "jdbc:h2:file:" + dir.resolve("app").toAbsolutePath() + ";LOCK_TIMEOUT=10000;DB_CLOSE_DELAY=-1");
        return dataSource;
    }

    private ExactlyOnceConsumer startConsumer(JdbcDataSource db, Connection connection, AtomicInteger handled)
            throws Exception {
        return ExactlyOnceConsumer.builder(db, (tx, delivery) -> {
                    try (var insert = tx.prepareStatement("INSERT INTO output(message_id, body) VALUES (?, ?)")) {
                        insert.setString(1, delivery.getProperties().getMessageId());
                        insert.setString(2, new String(delivery.getBody(), StandardCharsets.UTF_8));
                        insert.executeUpdate();
                    }
                    handled.incrementAndGet();
                })
                .prefetch(50)
                .start(connection, QUEUE);
    }

    @Test
    void shouldProcessEveryInputExactlyOnceThroughProducerRetriesABrokerCrashAndAConsumerCrash() throws Exception {
        JdbcDataSource db = database(appData);
        try (java.sql.Connection c = db.getConnection();
                Statement s = c.createStatement()) {
            s.execute("CREATE TABLE output(message_id VARCHAR(64), body VARCHAR(64))"); // no unique key
        }
        BrokerProcess broker = BrokerProcess.start(brokerData);
        port = broker.amqpPort();
        try (Connection setup = connect()) {
            Channel channel = setup.createChannel();
            channel.queueDeclare(QUEUE, true, false, false, Map.of("x-message-deduplication", true));
        }

        ConfirmingPublisher publisher = ConfirmingPublisher.builder(this::connect)
                .reconnectBackoff(Duration.ofMillis(50), Duration.ofMillis(500))
                .maxAttempts(1_000)
                .start();
        AtomicInteger handled = new AtomicInteger();
        Connection consumerConnection = connect();
        ExactlyOnceConsumer consumer = startConsumer(db, consumerConnection, handled);

        List<CompletableFuture<ConfirmingPublisher.Confirmation>> confirms = new ArrayList<>();
        for (int i = 0; i < MESSAGES; i++) {
            AMQP.BasicProperties props = new AMQP.BasicProperties.Builder()
                    .messageId("payment-" + i)
                    .deliveryMode(2)
                    .build();
            confirms.add(publisher.publish("", QUEUE, props, ("amount " + i).getBytes(StandardCharsets.UTF_8)));
            if (i == MESSAGES / 3) {
                // the consumer crashes mid-batch: its connection dies with deliveries in flight
                Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> handled.get() > 50);
                consumerConnection.abort();
                consumer.close(Duration.ofSeconds(5));
                consumerConnection = connect();
                consumer = startConsumer(db, consumerConnection, handled);
            }
            if (i == 2 * MESSAGES / 3) {
                // the broker dies with publishes unconfirmed and deliveries unacked
                broker.kill();
                broker = BrokerProcess.start(brokerData);
                port = broker.amqpPort();
                consumer.close(Duration.ofSeconds(5));
                consumerConnection.abort();
                consumerConnection = connect();
                consumer = startConsumer(db, consumerConnection, handled);
            }
        }
        CompletableFuture.allOf(confirms.toArray(new CompletableFuture<?>[0])).get(120, TimeUnit.SECONDS);
        Awaitility.await()
                .atMost(Duration.ofSeconds(120))
                .pollInterval(Duration.ofMillis(100))
                .until(() -> distinctOutputs(db) == MESSAGES);

        try (java.sql.Connection c = db.getConnection();
                Statement s = c.createStatement();
                ResultSet rows = s.executeQuery("SELECT COUNT(*), COUNT(DISTINCT message_id) FROM output")) {
            rows.next();
            assertThat(rows.getInt(2)).as("every input processed").isEqualTo(MESSAGES);
            assertThat(rows.getInt(1)).as("none processed twice").isEqualTo(MESSAGES);
        }
        assertThat(publisher.reconnectCount())
                .as("the producer really reconnected and retried")
                .isPositive();
        consumer.close(Duration.ofSeconds(5));
        consumerConnection.abort();
        publisher.close();
        broker.close();
        try (java.sql.Connection c = db.getConnection();
                Statement s = c.createStatement()) {
            s.execute("SHUTDOWN"); // open until now (DB_CLOSE_DELAY=-1), as behind an application's pool
        }
    }

    private static int distinctOutputs(JdbcDataSource db) throws Exception {
        try (java.sql.Connection c = db.getConnection();
                Statement s = c.createStatement();
                ResultSet rows = s.executeQuery("SELECT COUNT(DISTINCT message_id) FROM output")) {
            rows.next();
            return rows.getInt(1);
        }
    }
}
