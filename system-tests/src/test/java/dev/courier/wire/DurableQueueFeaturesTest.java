package dev.courier.wire;

import static dev.courier.wire.Wire.await;
import static dev.courier.wire.Wire.bytes;
import static dev.courier.wire.Wire.text;
import static org.assertj.core.api.Assertions.assertThat;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.DefaultConsumer;
import com.rabbitmq.client.Envelope;
import com.rabbitmq.client.GetResponse;
import dev.courier.server.CourierServer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Each queue feature on a durable queue with persistent messages, with a broker restart in the
 * middle: what was decided before the restart (order, counts, deaths, times) still holds after it.
 */
class DurableQueueFeaturesTest {
    static {
        LeakTracker.install();
    }

    private static final String DLX = "dlx";
    private static final String DLQ = "dlq";

    @TempDir
    Path dataDir;

    /** The brokers' clock, driven by the tests so TTLs pass without waiting. */
    private final AtomicLong clock = new AtomicLong(1_700_000_000_000L);

    private RestartableServer broker;
    private CourierServer server;
    private Connection connection;

    @BeforeEach
    void setUp() {
        broker = new RestartableServer(dataDir, clock::get, UnaryOperator.identity());
    }

    @AfterEach
    void stop() {
        broker.close();
    }

    private Channel startBroker() throws Exception {
        server = broker.start();
        connection = broker.connect();
        return connection.createChannel();
    }

    private Channel restart() throws Exception {
        broker.stop();
        return startBroker();
    }

    private static AMQP.BasicProperties persistent() {
        return new AMQP.BasicProperties.Builder().deliveryMode(2).build();
    }

    private static AMQP.BasicProperties persistent(int priority) {
        return new AMQP.BasicProperties.Builder()
                .deliveryMode(2)
                .priority(priority)
                .build();
    }

    /** A durable fanout DLX with a durable DLQ bound to it. */
    private static void declareDeadLetterTarget(Channel channel) throws IOException {
        channel.exchangeDeclare(DLX, "fanout", true);
        channel.queueDeclare(DLQ, true, false, false, null);
        channel.queueBind(DLQ, DLX, "");
    }

    private static void declareDurable(Channel channel, String queue, Map<String, Object> arguments)
            throws IOException {
        channel.queueDeclare(queue, true, false, false, arguments);
    }

    private static void publishConfirmed(Channel channel, String queue, AMQP.BasicProperties props, String... bodies)
            throws Exception {
        channel.confirmSelect();
        for (String body : bodies) {
            channel.basicPublish("", queue, props, bytes(body));
        }
        channel.waitForConfirmsOrDie(10_000);
    }

    private static List<String> drain(Channel channel, String queue) throws IOException {
        List<String> bodies = new ArrayList<>();
        GetResponse response;
        while ((response = channel.basicGet(queue, true)) != null) {
            bodies.add(text(response.getBody()));
        }
        return bodies;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> firstDeath(GetResponse response) {
        List<Object> deaths = (List<Object>) response.getProps().getHeaders().get("x-death");
        return (Map<String, Object>) deaths.get(0);
    }

    @Test
    void shouldKeepPriorityOrderAndFifoWithinALevelAcrossARestart() throws Exception {
        Channel channel = startBroker();
        declareDurable(channel, "prio", Map.of("x-max-priority", 10));
        channel.confirmSelect();
        int[] priorities = {1, 5, 9, 5, 1, 9, 0, 10};
        for (int i = 0; i < priorities.length; i++) {
            channel.basicPublish("", "prio", persistent(priorities[i]), bytes(priorities[i] + "-" + i));
        }
        channel.waitForConfirmsOrDie(10_000);

        channel = restart();

        assertThat(drain(channel, "prio")).containsExactly("10-7", "9-2", "9-5", "5-1", "5-3", "1-0", "1-4", "0-6");
    }

    @Test
    void shouldKeepXDeathOfMessagesDeadLetteredBeforeARestartAndDeadLetterAfterIt() throws Exception {
        Channel channel = startBroker();
        declareDeadLetterTarget(channel);
        declareDurable(channel, "work", Map.of("x-dead-letter-exchange", DLX));
        publishConfirmed(channel, "work", persistent(), "before", "after");
        GetResponse before = channel.basicGet("work", false);
        channel.basicReject(before.getEnvelope().getDeliveryTag(), false);
        await().until(() -> channel.queueDeclarePassive(DLQ).getMessageCount() == 1);

        Channel restarted = restart();

        GetResponse deadBefore = restarted.basicGet(DLQ, true);
        assertThat(text(deadBefore.getBody())).isEqualTo("before");
        assertThat(deadBefore.getProps().getDeliveryMode()).isEqualTo(2);
        Map<String, Object> death = firstDeath(deadBefore);
        assertThat(death).containsEntry("count", 1L);
        assertThat(death.get("queue").toString()).isEqualTo("work");
        assertThat(death.get("reason").toString()).isEqualTo("rejected");
        GetResponse after = restarted.basicGet("work", false);
        assertThat(text(after.getBody())).isEqualTo("after");
        restarted.basicReject(after.getEnvelope().getDeliveryTag(), false);
        GetResponse deadAfter = Wire.getEventually(restarted, DLQ);
        assertThat(text(deadAfter.getBody())).isEqualTo("after");
        assertThat(firstDeath(deadAfter).get("reason").toString()).isEqualTo("rejected");
    }

    @Test
    void shouldKeepTheFirstDeathsTimeWhenTheSameDeathRepeatsAcrossARestart() throws Exception {
        Channel channel = startBroker();
        // rejected messages come back to the same queue through the default exchange
        declareDurable(channel, "bounce", Map.of("x-dead-letter-exchange", ""));
        long firstDeathSeconds = clock.get() / 1000;
        publishConfirmed(channel, "bounce", persistent(), "bounced");
        GetResponse got = Wire.getEventually(channel, "bounce", false);
        channel.basicReject(got.getEnvelope().getDeliveryTag(), false);
        GetResponse once = Wire.getEventually(channel, "bounce", false);
        assertThat(firstDeath(once)).containsEntry("count", 1L);
        assertThat(((java.util.Date) firstDeath(once).get("time")).getTime() / 1000)
                .isEqualTo(firstDeathSeconds);
        channel.basicReject(once.getEnvelope().getDeliveryTag(), false);
        await().until(() ->
                connection.createChannel().queueDeclarePassive("bounce").getMessageCount() == 1);

        clock.addAndGet(60_000);
        channel = restart();
        GetResponse twice = Wire.getEventually(channel, "bounce", false);
        channel.basicReject(twice.getEnvelope().getDeliveryTag(), false);
        GetResponse thrice = Wire.getEventually(channel, "bounce", true);
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> deaths =
                (List<Map<String, Object>>) thrice.getProps().getHeaders().get("x-death");
        assertThat(deaths).hasSize(1);
        Map<String, Object> death = deaths.get(0);
        assertThat(death).containsEntry("count", 3L);
        assertThat(death.get("queue").toString()).isEqualTo("bounce");
        assertThat(death.get("reason").toString()).isEqualTo("rejected");
        // RabbitMQ keeps the time of the first death in the entry; the count tells how many followed
        assertThat(((java.util.Date) death.get("time")).getTime() / 1000).isEqualTo(firstDeathSeconds);
        assertThat(death.get("exchange").toString()).isEmpty();
        assertThat(((List<?>) death.get("routing-keys")).get(0).toString()).isEqualTo("bounce");
    }

    @Test
    void shouldExpireRecoveredMessagesByTheTimeTheyWerePublished() throws Exception {
        Channel channel = startBroker();
        declareDeadLetterTarget(channel);
        declareDurable(channel, "ttl", Map.of("x-message-ttl", 10_000, "x-dead-letter-exchange", DLX));
        publishConfirmed(channel, "ttl", persistent(), "old");
        clock.addAndGet(5_000);
        publishConfirmed(channel, "ttl", persistent(), "young");
        AMQP.BasicProperties perMessage = new AMQP.BasicProperties.Builder()
                .deliveryMode(2)
                .expiration("2000")
                .build();
        publishConfirmed(channel, "ttl", perMessage, "short");

        clock.addAndGet(2_500); // "short" is past its own expiration, the rest are not
        channel = restart();
        Channel afterFirst = channel;
        await().until(() -> afterFirst.queueDeclarePassive("ttl").getMessageCount() == 2);
        assertThat(text(Wire.getEventually(channel, DLQ).getBody())).isEqualTo("short");

        clock.addAndGet(3_000); // 10.5 s after "old" was published, 5.5 s after "young"
        channel = restart();
        Channel afterSecond = channel;
        await().until(() -> afterSecond.queueDeclarePassive("ttl").getMessageCount() == 1);
        GetResponse expired = Wire.getEventually(channel, DLQ);
        assertThat(text(expired.getBody())).isEqualTo("old");
        assertThat(firstDeath(expired).get("reason").toString()).isEqualTo("expired");
        assertThat(drain(channel, "ttl")).containsExactly("young");
    }

    @Test
    void shouldApplyLengthLimitsToMessagesRecoveredFromBeforeARestart() throws Exception {
        Channel channel = startBroker();
        declareDeadLetterTarget(channel);
        Map<String, Object> dropHead = new HashMap<>();
        dropHead.put("x-max-length", 2);
        dropHead.put("x-dead-letter-exchange", DLX);
        declareDurable(channel, "bounded", dropHead);
        declareDurable(channel, "strict", Map.of("x-max-length", 1, "x-overflow", "reject-publish"));
        publishConfirmed(channel, "bounded", persistent(), "m1", "m2");
        publishConfirmed(channel, "strict", persistent(), "only");

        channel = restart();

        publishConfirmed(channel, "bounded", persistent(), "m3");
        GetResponse dropped = Wire.getEventually(channel, DLQ);
        assertThat(text(dropped.getBody())).isEqualTo("m1");
        assertThat(firstDeath(dropped).get("reason").toString()).isEqualTo("maxlen");
        assertThat(drain(channel, "bounded")).containsExactly("m2", "m3");

        channel.confirmSelect();
        channel.basicPublish("", "strict", persistent(), bytes("refused"));
        assertThat(channel.waitForConfirms(10_000))
                .as("a full reject-publish queue nacks")
                .isFalse();
        assertThat(drain(channel, "strict")).containsExactly("only");
    }

    @Test
    void shouldCountDeliveriesOfAPoisonMessageAcrossARestart() throws Exception {
        Channel channel = startBroker();
        declareDeadLetterTarget(channel);
        declareDurable(channel, "poison", Map.of("x-delivery-limit", 2, "x-dead-letter-exchange", DLX));
        publishConfirmed(channel, "poison", persistent(), "bad");
        for (int i = 0; i < 2; i++) {
            GetResponse failed = Wire.getEventually(channel, "poison", false);
            channel.basicNack(failed.getEnvelope().getDeliveryTag(), false, true);
        }
        channel.queueDeclarePassive("poison"); // a round trip: the nacks have been processed

        channel = restart();

        GetResponse third = Wire.getEventually(channel, "poison", false);
        assertThat(third.getEnvelope().isRedeliver()).isTrue();
        assertThat(third.getProps().getHeaders()).containsEntry("x-delivery-count", 2L);
        channel.basicNack(third.getEnvelope().getDeliveryTag(), false, true); // the third failure
        GetResponse dead = Wire.getEventually(channel, DLQ);
        assertThat(text(dead.getBody())).isEqualTo("bad");
        assertThat(dead.getProps().getHeaders().get("x-first-death-reason").toString())
                .isEqualTo("delivery_limit");
        assertThat(channel.queueDeclarePassive("poison").getMessageCount()).isZero();
    }

    @Test
    void shouldRedriveADeadLetterQueueRecoveredAfterARestart() throws Exception {
        Channel channel = startBroker();
        declareDeadLetterTarget(channel);
        declareDurable(channel, "source", Map.of("x-dead-letter-exchange", DLX));
        publishConfirmed(channel, "source", persistent(), "a", "b");
        for (int i = 0; i < 2; i++) {
            GetResponse response = channel.basicGet("source", false);
            channel.basicReject(response.getEnvelope().getDeliveryTag(), false);
        }
        Channel beforeRestart = channel;
        await().until(() -> beforeRestart.queueDeclarePassive(DLQ).getMessageCount() == 2);

        channel = restart();

        int moved =
                server.broker().vhost("/").moveMessages(DLQ, "source", 10, null).get();
        assertThat(moved).isEqualTo(2);
        Channel afterRedrive = restart(); // the move itself was recorded
        assertThat(afterRedrive.queueDeclarePassive(DLQ).getMessageCount()).isZero();
        assertThat(drain(afterRedrive, "source")).containsExactly("a", "b");
    }

    @Test
    void shouldKeepASingleActiveConsumerQueueSingleAfterARestart() throws Exception {
        Channel channel = startBroker();
        declareDurable(channel, "sac", Map.of("x-single-active-consumer", true));
        publishConfirmed(channel, "sac", persistent(), "m0", "m1", "m2", "m3");

        channel = restart();

        List<String> first = new CopyOnWriteArrayList<>();
        List<String> second = new CopyOnWriteArrayList<>();
        Channel firstChannel = connection.createChannel();
        Channel secondChannel = connection.createChannel();
        String firstTag = firstChannel.basicConsume("sac", true, recorder(firstChannel, first));
        secondChannel.basicConsume("sac", true, recorder(secondChannel, second));
        await().until(() -> first.size() == 4);
        assertThat(first).containsExactly("m0", "m1", "m2", "m3");
        firstChannel.basicCancel(firstTag);
        publishConfirmed(channel, "sac", persistent(), "m4");
        await().until(() -> second.size() == 1);
        assertThat(second).containsExactly("m4");
    }

    private static DefaultConsumer recorder(Channel channel, List<String> sink) {
        return new DefaultConsumer(channel) {
            @Override
            public void handleDelivery(String tag, Envelope envelope, AMQP.BasicProperties props, byte[] body) {
                sink.add(text(body));
            }
        };
    }
}
