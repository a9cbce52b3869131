package dev.courier.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.BuiltinExchangeType;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.Delivery;
import com.rabbitmq.client.GetResponse;
import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The exactly-once consumer against a real broker and a real embedded database (H2, file mode):
 * every input's side effect lands exactly once, through redeliveries, handler failures and
 * consumer crashes before and after the commit.
 */
class ExactlyOnceConsumerTest {
    @RegisterExtension
    static final TestBroker broker = new TestBroker();

    @TempDir
    Path dbDir;

    H2Database db;
    Channel setup;

    @BeforeEach
    void openDatabase() throws Exception {
        db = new H2Database(dbDir);
        setup = broker.connect().createChannel();
    }

    @AfterEach
    void closeDatabase() throws SQLException {
        db.close();
    }

    @Test
    void shouldRunTheHandlerInTheTransactionAndAckAfterTheCommit() throws Exception {
        String queue = queue(Map.of());
        ExactlyOnceConsumer consumer = ExactlyOnceConsumer.builder(db.dataSource(), ExactlyOnceConsumerTest::apply)
                .start(broker.connect(), queue);

        publish(queue, 20);

        await().until(() -> db.effects() == 20);
        awaitSettled(queue);
        assertThat(db.duplicatedInputs()).isEmpty();
        assertThat(consumer.isProcessed("input-7")).isTrue();
        assertThat(consumer.isProcessed("input-99")).isFalse();
        assertThat(db.count("SELECT COUNT(*) FROM " + ExactlyOnceConsumer.DEFAULT_TABLE + " WHERE consumer = '" + queue
                        + "'"))
                .isEqualTo(20);
        consumer.close();
    }

    @Test
    void shouldAckARedeliveredIdWithoutCallingTheHandlerAgain() throws Exception {
        String queue = queue(Map.of());
        List<String> duplicates = new CopyOnWriteArrayList<>();
        ExactlyOnceConsumer.builder(db.dataSource(), ExactlyOnceConsumerTest::apply)
                .listener(new ExactlyOnceConsumer.Listener() {
                    @Override
                    public void onDuplicate(String messageId, Delivery delivery) {
                        duplicates.add(messageId);
                    }
                })
                .start(broker.connect(), queue);

        for (int i = 0; i < 3; i++) { // a publisher retrying after lost confirms
            setup.basicPublish("", queue, props("order-1"), ("attempt " + i).getBytes(StandardCharsets.UTF_8));
        }

        await().until(() -> duplicates.size() == 2);
        awaitSettled(queue);
        assertThat(db.effects()).isEqualTo(1);
        assertThat(db.count("SELECT COUNT(*) FROM effects WHERE body = 'attempt 0'"))
                .isEqualTo(1);
    }

    @Test
    void shouldRollBackTheSideEffectsOfAFailedHandlerAndProcessTheRequeuedMessageOnce() throws Exception {
        String queue = queue(Map.of());
        Set<String> failedOnce = ConcurrentHashMap.newKeySet();
        List<Boolean> redeliveredWhenApplied = new CopyOnWriteArrayList<>();
        ExactlyOnceConsumer.builder(db.dataSource(), (tx, delivery) -> {
                    apply(tx, delivery); // written, then rolled back below
                    if (failedOnce.add(delivery.getProperties().getMessageId())) {
                        throw new IllegalStateException("downstream service unavailable");
                    }
                    redeliveredWhenApplied.add(delivery.getEnvelope().isRedeliver());
                })
                .onFailure(FailurePolicy.REQUEUE)
                .start(broker.connect(), queue);

        publish(queue, 10);

        await().until(() -> db.effects() == 10);
        awaitSettled(queue);
        assertThat(db.duplicatedInputs()).isEmpty();
        assertThat(redeliveredWhenApplied).hasSize(10).containsOnly(true);
    }

    @Test
    void shouldDeadLetterAFailedMessageWhenConfiguredAndLeaveNoTrace() throws Exception {
        String dlq = queue(Map.of());
        String queue = queue(Map.of("x-dead-letter-exchange", "", "x-dead-letter-routing-key", dlq));
        ExactlyOnceConsumer consumer = ExactlyOnceConsumer.builder(db.dataSource(), (tx, delivery) -> {
                    apply(tx, delivery);
                    throw new IllegalArgumentException("malformed order");
                })
                .onFailure(FailurePolicy.DEAD_LETTER)
                .start(broker.connect(), queue);

        setup.basicPublish("", queue, props("bad-1"), "x".getBytes(StandardCharsets.UTF_8));

        GetResponse dead = getEventually(dlq);
        assertThat(dead.getProps().getMessageId()).isEqualTo("bad-1");
        assertThat(db.effects()).isZero();
        assertThat(consumer.isProcessed("bad-1")).isFalse();
    }

    @Test
    void shouldRejectAMessageWithoutAnIdUnlessTheStrategyFindsOneInAHeader() throws Exception {
        String dlq = queue(Map.of());
        String queue = queue(Map.of("x-dead-letter-exchange", "", "x-dead-letter-routing-key", dlq));
        AtomicInteger rejected = new AtomicInteger();
        ExactlyOnceConsumer.builder(db.dataSource(), ExactlyOnceConsumerTest::apply)
                .messageIds(MessageIdStrategy.messageId().orElse(MessageIdStrategy.header("x-idempotency-key")))
                .listener(new ExactlyOnceConsumer.Listener() {
                    @Override
                    public void onRejectedWithoutId(Delivery delivery) {
                        rejected.incrementAndGet();
                    }
                })
                .start(broker.connect(), queue);

        setup.basicPublish("", queue, null, "anonymous".getBytes(StandardCharsets.UTF_8));
        AMQP.BasicProperties keyed = new AMQP.BasicProperties.Builder()
                .headers(Map.of("x-idempotency-key", "key-1"))
                .build();
        setup.basicPublish("", queue, keyed, "first".getBytes(StandardCharsets.UTF_8));
        setup.basicPublish("", queue, keyed, "again".getBytes(StandardCharsets.UTF_8));

        assertThat(new String(getEventually(dlq).getBody(), StandardCharsets.UTF_8))
                .isEqualTo("anonymous");
        await().until(() -> db.effects() == 1);
        awaitSettled(queue);
        assertThat(db.effects()).isEqualTo(1);
        assertThat(rejected).hasValue(1);
    }

    @Test
    void shouldApplyEveryInputExactlyOnceWhenTheConsumerCrashesAfterTheCommitBeforeTheAck() throws Exception {
        String queue = queue(Map.of());
        int inputs = 60;
        publish(queue, inputs);
        Connection doomed = broker.connect();
        AtomicInteger commits = new AtomicInteger();
        ExactlyOnceConsumer.builder(db.dataSource(), ExactlyOnceConsumerTest::apply)
                .prefetch(10)
                .listener(new ExactlyOnceConsumer.Listener() {
                    @Override
                    public void onCommitted(String messageId, Delivery delivery) {
                        if (commits.incrementAndGet() == 25) {
                            crash(doomed); // the process dies between its commit and its ack
                        }
                    }
                })
                .start(doomed, queue);
        await().until(() -> !doomed.isOpen());
        assertThat(db.effects()).isEqualTo(25);

        List<String> duplicates = new CopyOnWriteArrayList<>();
        ExactlyOnceConsumer.builder(db.dataSource(), ExactlyOnceConsumerTest::apply)
                .prefetch(10)
                .listener(new ExactlyOnceConsumer.Listener() {
                    @Override
                    public void onDuplicate(String messageId, Delivery delivery) {
                        duplicates.add(messageId);
                    }
                })
                .start(broker.connect(), queue);

        await().until(() -> db.distinctEffects() == inputs);
        awaitSettled(queue);
        assertThat(db.duplicatedInputs()).isEmpty();
        assertThat(db.effects()).isEqualTo(inputs);
        assertThat(duplicates)
                .as("the committed but unacked message came back and was skipped")
                .contains("input-24");
    }

    @Test
    void shouldApplyEveryInputExactlyOnceWhenTheConsumerCrashesBeforeTheCommit() throws Exception {
        String queue = queue(Map.of());
        int inputs = 60;
        publish(queue, inputs);
        Connection doomed = broker.connect();
        AtomicInteger calls = new AtomicInteger();
        ExactlyOnceConsumer.builder(db.dataSource(), (tx, delivery) -> {
                    apply(tx, delivery);
                    if (calls.incrementAndGet() == 25) {
                        crash(doomed); // the process dies mid-transaction
                        throw new IllegalStateException("process died");
                    }
                })
                .prefetch(10)
                .start(doomed, queue);
        await().until(() -> !doomed.isOpen());
        assertThat(db.effects()).isEqualTo(24);

        ExactlyOnceConsumer.builder(db.dataSource(), ExactlyOnceConsumerTest::apply)
                .prefetch(10)
                .start(broker.connect(), queue);

        await().until(() -> db.distinctEffects() == inputs);
        awaitSettled(queue);
        assertThat(db.duplicatedInputs()).isEmpty();
        assertThat(db.effects()).isEqualTo(inputs);
    }

    @Test
    void shouldRunTheHandlerOnceWhenTwoConsumersGetTheSameIdAtTheSameTime() throws Exception {
        // one logical consumer ("billing") reading two queues that both receive every message
        String exchange = TestBroker.unique("fan");
        setup.exchangeDeclare(exchange, BuiltinExchangeType.FANOUT, false, true, null);
        String first = queue(Map.of());
        String second = queue(Map.of());
        setup.queueBind(first, exchange, "");
        setup.queueBind(second, exchange, "");
        for (String queue : List.of(first, second)) {
            ExactlyOnceConsumer.builder(db.dataSource(), ExactlyOnceConsumerTest::apply)
                    .consumerName("billing")
                    .start(broker.connect(), queue);
        }

        for (int i = 0; i < 50; i++) {
            setup.basicPublish(exchange, "", props("input-" + i), bytes(i));
        }

        await().until(() -> db.distinctEffects() == 50);
        awaitSettled(first);
        awaitSettled(second);
        assertThat(db.duplicatedInputs()).isEmpty();
        assertThat(db.effects()).isEqualTo(50);
    }

    @Test
    void shouldRequeueWhenTheDatabaseIsDownEvenWhenFailuresAreDeadLettered() throws Exception {
        String dlq = queue(Map.of());
        String queue = queue(Map.of("x-dead-letter-exchange", "", "x-dead-letter-routing-key", dlq));
        AtomicInteger refusals = new AtomicInteger();
        DataSource flaky = (DataSource) Proxy.newProxyInstance(
                DataSource.class.getClassLoader(), new Class<?>[] {DataSource.class}, (proxy, method, args) -> {
                    if (method.getName().equals("getConnection") && refusals.getAndDecrement() > 0) {
                        throw new SQLException("connection refused", "08001");
                    }
                    try {
                        return method.invoke(db.dataSource(), args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
        ExactlyOnceConsumer.builder(flaky, ExactlyOnceConsumerTest::apply)
                .onFailure(FailurePolicy.DEAD_LETTER)
                .start(broker.connect(), queue);
        refusals.set(3); // the database goes down

        setup.basicPublish("", queue, props("during-outage"), bytes(0));

        await().until(() -> db.effects() == 1);
        awaitSettled(queue);
        assertThat(refusals.get()).isNegative();
        assertThat(setup.queueDeclarePassive(dlq).getMessageCount()).isZero();
    }

    @Test
    void shouldForgetIdsOlderThanACutoff() throws Exception {
        String queue = queue(Map.of());
        Instant then = Instant.parse("2026-01-01T00:00:00Z");
        ExactlyOnceConsumer consumer = ExactlyOnceConsumer.builder(db.dataSource(), ExactlyOnceConsumerTest::apply)
                .clock(Clock.fixed(then, ZoneOffset.UTC))
                .table("orders_seen")
                .start(broker.connect(), queue);
        publish(queue, 3);
        await().until(() -> db.effects() == 3);

        assertThat(consumer.deleteProcessedBefore(then)).isZero();
        assertThat(consumer.deleteProcessedBefore(then.plus(Duration.ofSeconds(1))))
                .isEqualTo(3);
        assertThat(consumer.isProcessed("input-0")).isFalse();
    }

    @Test
    void shouldDrainTheDeliveriesItHasOnClose() throws Exception {
        String queue = queue(Map.of());
        publish(queue, 30);
        ExactlyOnceConsumer consumer = ExactlyOnceConsumer.builder(db.dataSource(), ExactlyOnceConsumerTest::apply)
                .prefetch(30)
                .start(broker.connect(), queue);
        await().until(() -> db.effects() >= 1);

        assertThat(consumer.close(Duration.ofSeconds(30))).isTrue();

        // whatever it had received was processed and acked; the rest is still ready in the queue
        long processed = db.effects();
        await().until(() -> setup.queueDeclarePassive(queue).getMessageCount() == 30 - processed);
        assertThat(setup.queueDeclarePassive(queue).getConsumerCount()).isZero();
    }

    /** The handler's side effect. */
    static void apply(java.sql.Connection tx, Delivery delivery) throws java.sql.SQLException {
        String id = delivery.getProperties().getMessageId();
        if (id == null) {
            id = String.valueOf(delivery.getProperties().getHeaders().get("x-idempotency-key"));
        }
        H2Database.recordEffect(tx, id, new String(delivery.getBody(), StandardCharsets.UTF_8));
    }

    /**
     * Kills the consumer's connection as a process crash would, and returns only once it is
     * closed, so that the code after the crash point (ack, nack) finds it gone.
     */
    static void crash(Connection connection) {
        Thread killer = new Thread(() -> connection.abort(1_000), "crash");
        killer.start();
        try {
            killer.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private String queue(Map<String, Object> arguments) throws IOException {
        return setup.queueDeclare(TestBroker.unique("eo"), true, false, false, arguments)
                .getQueue();
    }

    private void publish(String queue, int count) throws IOException {
        for (int i = 0; i < count; i++) {
            setup.basicPublish("", queue, props("input-" + i), bytes(i));
        }
    }

    /** The queue is empty and nothing is unacked: every delivery was settled. */
    private void awaitSettled(String queue) {
        await().until(() -> setup.queueDeclarePassive(queue).getMessageCount() == 0 && unacked(queue) == 0);
    }

    // the broker's own count, as the management API reports it
    private long unacked(String queue) {
        return broker.server().broker().vhost("/").queue(queue, null).stats().unacked();
    }

    private GetResponse getEventually(String queue) {
        GetResponse[] holder = new GetResponse[1];
        await().until(() -> (holder[0] = setup.basicGet(queue, true)) != null);
        return holder[0];
    }

    private static AMQP.BasicProperties props(String messageId) {
        return new AMQP.BasicProperties.Builder()
                .messageId(messageId)
                .deliveryMode(2)
                .build();
    }

    private static byte[] bytes(int i) {
        return ("payload " + i).getBytes(StandardCharsets.UTF_8);
    }
}
