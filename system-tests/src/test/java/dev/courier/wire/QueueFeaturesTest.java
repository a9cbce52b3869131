package dev.courier.wire;

import static dev.courier.wire.Wire.await;
import static dev.courier.wire.Wire.bytes;
import static dev.courier.wire.Wire.closedBy;
import static dev.courier.wire.Wire.replyCode;
import static dev.courier.wire.Wire.replyText;
import static dev.courier.wire.Wire.text;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.DefaultConsumer;
import com.rabbitmq.client.Envelope;
import com.rabbitmq.client.GetResponse;
import com.rabbitmq.client.ShutdownSignalException;
import dev.courier.broker.QueueStats;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Priority queues, dead-lettering with x-death, TTL, length limits, delivery limit, single active consumer. */
class QueueFeaturesTest {
    @RegisterExtension
    static final CourierBroker broker = new CourierBroker();

    private static AMQP.BasicProperties priority(int p) {
        return new AMQP.BasicProperties.Builder().priority(p).build();
    }

    private static String declare(Channel channel, Map<String, Object> arguments) throws IOException {
        return channel.queueDeclare(CourierBroker.unique("f"), false, false, true, arguments)
                .getQueue();
    }

    /** A DLX (fanout) and a DLQ bound to it; returns {dlx, dlq}. */
    private static String[] deadLetterTarget(Channel channel) throws IOException {
        String dlx = CourierBroker.unique("dlx");
        channel.exchangeDeclare(dlx, "fanout", false, true, null);
        String dlq = channel.queueDeclare(CourierBroker.unique("dlq"), false, false, true, null)
                .getQueue();
        channel.queueBind(dlq, dlx, "");
        return new String[] {dlx, dlq};
    }

    private static List<String> drain(Channel channel, String queue) throws IOException {
        List<String> bodies = new ArrayList<>();
        GetResponse response;
        while ((response = channel.basicGet(queue, true)) != null) {
            bodies.add(text(response.getBody()));
        }
        return bodies;
    }

    private static long nowSeconds() {
        return System.currentTimeMillis() / 1000;
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> deaths(GetResponse response) {
        return (List<Map<String, Object>>) response.getProps().getHeaders().get("x-death");
    }

    /** The (queue, reason, count) of each x-death entry, most recent first. */
    private static List<String> deathSummary(GetResponse response) {
        List<String> summary = new ArrayList<>();
        for (Map<String, Object> death : deaths(response)) {
            summary.add(death.get("queue") + " " + death.get("reason") + " " + death.get("count"));
        }
        return summary;
    }

    /**
     * Checks one x-death table field by field, as RabbitMQ writes it: nothing more, nothing less
     * (original-expiration only when {@code originalExpiration} is not null), with a time no
     * earlier than {@code fromSeconds} and no later than now.
     */
    private static void assertDeath(
            Map<String, Object> death,
            long count,
            String reason,
            String queue,
            String exchange,
            List<String> routingKeys,
            String originalExpiration,
            long fromSeconds) {
        java.util.Set<String> fields =
                new java.util.HashSet<>(List.of("count", "reason", "queue", "time", "exchange", "routing-keys"));
        if (originalExpiration != null) {
            fields.add("original-expiration");
        }
        assertThat(death.keySet()).containsExactlyInAnyOrderElementsOf(fields);
        assertThat(death.get("count")).isEqualTo(count);
        assertThat(death.get("reason").toString()).isEqualTo(reason);
        assertThat(death.get("queue").toString()).isEqualTo(queue);
        assertThat(death.get("exchange").toString()).isEqualTo(exchange);
        assertThat(((List<?>) death.get("routing-keys")).stream().map(Object::toString))
                .containsExactlyElementsOf(routingKeys);
        assertThat(death.get("time")).isInstanceOf(java.util.Date.class);
        long seconds = ((java.util.Date) death.get("time")).getTime() / 1000;
        assertThat(seconds).isBetween(fromSeconds, nowSeconds());
        if (originalExpiration != null) {
            assertThat(death.get("original-expiration").toString()).isEqualTo(originalExpiration);
        }
    }

    /** The x-delivery-count header, 0 when absent (the first delivery). */
    private static Object deliveryCount(AMQP.BasicProperties props) {
        Map<String, Object> headers = props.getHeaders();
        return headers == null ? 0L : headers.getOrDefault("x-delivery-count", 0L);
    }

    /** A queue that stays when its consumers go (unlike {@link #declare}'s auto-delete ones). */
    private static String declareKept(Channel channel, Map<String, Object> arguments) throws IOException {
        return channel.queueDeclare(CourierBroker.unique("kept"), false, false, false, arguments)
                .getQueue();
    }

    /** The x-first-death-* headers. */
    private static void assertFirstDeath(GetResponse response, String reason, String queue, String exchange) {
        Map<String, Object> headers = response.getProps().getHeaders();
        assertThat(headers.get("x-first-death-reason").toString()).isEqualTo(reason);
        assertThat(headers.get("x-first-death-queue").toString()).isEqualTo(queue);
        assertThat(headers.get("x-first-death-exchange").toString()).isEqualTo(exchange);
    }

    @ParameterizedTest
    @ValueSource(ints = {2, 10, 255})
    void shouldDeliverHigherPrioritiesFirstAndFifoWithinAPriority(int levels) throws Exception {
        Channel channel = broker.connect().createChannel();
        String queue = declare(channel, Map.of("x-max-priority", levels));
        channel.confirmSelect();
        int[] priorities = {0, levels, 1, levels, 0, levels / 2, 1};
        for (int i = 0; i < priorities.length; i++) {
            channel.basicPublish("", queue, priority(priorities[i]), bytes(priorities[i] + "-" + i));
        }
        // above the queue's maximum: treated as the maximum (the property is an octet, so at most 255)
        channel.basicPublish("", queue, priority(Math.min(levels + 7, 255)), bytes("capped"));
        channel.waitForConfirmsOrDie(5_000);
        List<String> order = drain(channel, queue);
        List<String> expected = new ArrayList<>(List.of(levels + "-1", levels + "-3", "capped"));
        if (levels / 2 > 1) {
            expected.add(levels / 2 + "-5");
            expected.addAll(List.of("1-2", "1-6"));
        } else {
            expected.addAll(List.of("1-2", "1-5", "1-6"));
        }
        expected.addAll(List.of("0-0", "0-4"));
        assertThat(order).isEqualTo(expected);
    }

    @Test
    void shouldDeadLetterRejectedMessagesWithRabbitMqsXDeath() throws Exception {
        Channel channel = broker.connect().createChannel();
        String[] dead = deadLetterTarget(channel);
        String queue = declare(channel, Map.of("x-dead-letter-exchange", dead[0]));
        channel.basicPublish(
                "",
                queue,
                new AMQP.BasicProperties.Builder().headers(Map.of("app", "x")).build(),
                bytes("bad"));
        GetResponse got = Wire.getEventually(channel, queue, false);
        channel.basicReject(got.getEnvelope().getDeliveryTag(), false);
        GetResponse deadLettered = Wire.getEventually(channel, dead[1]);
        assertThat(text(deadLettered.getBody())).isEqualTo("bad");
        Map<String, Object> headers = deadLettered.getProps().getHeaders();
        assertThat(headers.get("app").toString()).isEqualTo("x");
        assertThat(headers.get("x-first-death-reason").toString()).isEqualTo("rejected");
        assertThat(headers.get("x-first-death-queue").toString()).isEqualTo(queue);
        assertThat(headers.get("x-first-death-exchange").toString()).isEqualTo("");
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> deaths = (List<Map<String, Object>>) headers.get("x-death");
        assertThat(deaths).hasSize(1);
        Map<String, Object> death = deaths.get(0);
        assertThat(death.get("count")).isEqualTo(1L);
        assertThat(death.get("reason").toString()).isEqualTo("rejected");
        assertThat(death.get("queue").toString()).isEqualTo(queue);
        assertThat(death.get("exchange").toString()).isEqualTo("");
        assertThat(((List<?>) death.get("routing-keys")).get(0).toString()).isEqualTo(queue);
        assertThat(death.get("time")).isInstanceOf(java.util.Date.class);
        assertThat(deadLettered.getEnvelope().getExchange()).isEqualTo(dead[0]);
        assertThat(deadLettered.getEnvelope().getRoutingKey()).isEqualTo(queue);
    }

    @Test
    void shouldUseTheDeadLetterRoutingKeyWhenSet() throws Exception {
        Channel channel = broker.connect().createChannel();
        String dlq = channel.queueDeclare(CourierBroker.unique("dlq"), false, false, true, null)
                .getQueue();
        String queue = declare(channel, Map.of("x-dead-letter-exchange", "", "x-dead-letter-routing-key", dlq));
        channel.basicPublish("", queue, null, bytes("m"));
        GetResponse got = Wire.getEventually(channel, queue, false);
        channel.basicNack(got.getEnvelope().getDeliveryTag(), false, false);
        assertThat(text(Wire.getEventually(channel, dlq).getBody())).isEqualTo("m");
    }

    @Test
    void shouldExpireMessagesWithNoConsumerAndDeadLetterThem() throws Exception {
        Channel channel = broker.connect().createChannel();
        String[] dead = deadLetterTarget(channel);
        String queue = declare(channel, Map.of("x-message-ttl", 50, "x-dead-letter-exchange", dead[0]));
        long from = nowSeconds();
        channel.basicPublish("", queue, null, bytes("short-lived"));
        GetResponse expired = Wire.getEventually(channel, dead[1]);
        assertThat(text(expired.getBody())).isEqualTo("short-lived");
        assertThat(deaths(expired)).hasSize(1);
        assertDeath(deaths(expired).get(0), 1, "expired", queue, "", List.of(queue), null, from);
        assertFirstDeath(expired, "expired", queue, "");
        assertThat(expired.getEnvelope().getExchange()).isEqualTo(dead[0]);
        assertThat(expired.getEnvelope().getRoutingKey()).isEqualTo(queue);
        assertThat(channel.queueDeclarePassive(queue).getMessageCount()).isZero();
    }

    @Test
    void shouldExpireAPerMessageTtlBehindTheHeadAndKeepTheOriginalExpiration() throws Exception {
        assumeThat(broker.isCourier())
                .as("RabbitMQ 3.10 expires per-message TTLs only at the head")
                .isTrue();
        Channel channel = broker.connect().createChannel();
        String[] dead = deadLetterTarget(channel);
        String queue = declare(channel, Map.of("x-dead-letter-exchange", dead[0]));
        long from = nowSeconds();
        channel.basicPublish("", queue, null, bytes("stays"));
        channel.basicPublish(
                "", queue, new AMQP.BasicProperties.Builder().expiration("50").build(), bytes("goes"));
        GetResponse expired = Wire.getEventually(channel, dead[1]);
        assertThat(text(expired.getBody())).isEqualTo("goes");
        assertThat(expired.getProps().getExpiration()).isNull();
        assertThat(deaths(expired)).hasSize(1);
        assertDeath(deaths(expired).get(0), 1, "expired", queue, "", List.of(queue), "50", from);
        assertFirstDeath(expired, "expired", queue, "");
        assertThat(drain(channel, queue)).containsExactly("stays");
    }

    @Test
    void shouldDropTheHeadIntoTheDeadLetterQueueWhenFull() throws Exception {
        Channel channel = broker.connect().createChannel();
        String[] dead = deadLetterTarget(channel);
        String queue = declare(channel, Map.of("x-max-length", 2, "x-dead-letter-exchange", dead[0]));
        channel.confirmSelect();
        long from = nowSeconds();
        for (int i = 1; i <= 4; i++) {
            channel.basicPublish("", queue, null, bytes("m" + i));
        }
        channel.waitForConfirmsOrDie(5_000);
        assertThat(drain(channel, queue)).containsExactly("m3", "m4");
        await().until(() -> channel.queueDeclarePassive(dead[1]).getMessageCount() == 2);
        for (String body : List.of("m1", "m2")) {
            GetResponse dropped = channel.basicGet(dead[1], true);
            assertThat(text(dropped.getBody())).isEqualTo(body);
            assertThat(deaths(dropped)).hasSize(1);
            assertDeath(deaths(dropped).get(0), 1, "maxlen", queue, "", List.of(queue), null, from);
            assertFirstDeath(dropped, "maxlen", queue, "");
            assertThat(dropped.getEnvelope().getExchange()).isEqualTo(dead[0]);
        }
    }

    @Test
    void shouldNackPublishesWhenFullWithRejectPublish() throws Exception {
        Channel channel = broker.connect().createChannel();
        String queue = declare(channel, Map.of("x-max-length-bytes", 10, "x-overflow", "reject-publish"));
        channel.confirmSelect();
        List<Long> nacked = new CopyOnWriteArrayList<>();
        channel.addConfirmListener((tag, multiple) -> {}, (tag, multiple) -> nacked.add(tag));
        channel.basicPublish("", queue, null, bytes("0123456789"));
        channel.basicPublish("", queue, null, bytes("overflow"));
        assertThat(channel.waitForConfirms(5_000)).isFalse();
        assertThat(nacked).containsExactly(2L);
        assertThat(drain(channel, queue)).containsExactly("0123456789");
    }

    @Test
    void shouldNackAndDeadLetterWithRejectPublishDlx() throws Exception {
        Channel channel = broker.connect().createChannel();
        String[] dead = deadLetterTarget(channel);
        String queue = declare(
                channel,
                Map.of("x-max-length", 1, "x-overflow", "reject-publish-dlx", "x-dead-letter-exchange", dead[0]));
        channel.confirmSelect();
        long from = nowSeconds();
        channel.basicPublish("", queue, null, bytes("kept"));
        channel.basicPublish("", queue, null, bytes("refused"));
        assertThat(channel.waitForConfirms(5_000)).isFalse();
        GetResponse refused = Wire.getEventually(channel, dead[1]);
        assertThat(text(refused.getBody())).isEqualTo("refused");
        assertThat(deaths(refused)).hasSize(1);
        assertDeath(deaths(refused).get(0), 1, "maxlen", queue, "", List.of(queue), null, from);
        assertFirstDeath(refused, "maxlen", queue, "");
        assertThat(drain(channel, queue)).containsExactly("kept");
    }

    @Test
    void shouldDeadLetterAPoisonMessageAfterTheDeliveryLimitAndRedriveIt() throws Exception {
        assumeThat(broker.isCourier())
                .as("RabbitMQ has x-delivery-limit on quorum queues only")
                .isTrue();
        Channel channel = broker.connect().createChannel();
        String[] dead = deadLetterTarget(channel);
        String queue = channel.queueDeclare(
                        CourierBroker.unique("poison"),
                        false,
                        false,
                        false,
                        Map.of("x-delivery-limit", 3, "x-dead-letter-exchange", dead[0]))
                .getQueue();
        Channel consumerChannel = broker.connect().createChannel();
        List<Object> deliveryCounts = new CopyOnWriteArrayList<>();
        consumerChannel.basicConsume(queue, false, new DefaultConsumer(consumerChannel) {
            @Override
            public void handleDelivery(String tag, Envelope envelope, AMQP.BasicProperties props, byte[] body)
                    throws IOException {
                deliveryCounts.add(deliveryCount(props));
                consumerChannel.basicNack(envelope.getDeliveryTag(), false, true); // always fails
            }
        });
        long from = nowSeconds();
        channel.basicPublish(
                "",
                queue,
                new AMQP.BasicProperties.Builder()
                        .messageId("poison-1")
                        .headers(Map.of("app", "x"))
                        .build(),
                bytes("poison"));
        await().until(() -> channel.queueDeclarePassive(dead[1]).getMessageCount() == 1);
        assertThat(deliveryCounts).containsExactly(0L, 1L, 2L, 3L); // limit + 1 deliveries
        consumerChannel.close();

        // redrive: the poison message itself goes back to its source queue, where a fixed consumer takes it
        assertThat(broker.server()
                        .broker()
                        .vhost("/")
                        .moveMessages(dead[1], queue, 10, null)
                        .get())
                .isEqualTo(1);
        assertThat(channel.queueDeclarePassive(dead[1]).getMessageCount()).isZero();
        GetResponse redriven = Wire.getEventually(channel, queue);
        assertThat(text(redriven.getBody())).isEqualTo("poison");
        assertThat(redriven.getProps().getMessageId()).isEqualTo("poison-1");
        assertThat(redriven.getProps().getHeaders().get("app").toString()).isEqualTo("x");
        assertThat(redriven.getProps().getHeaders()).doesNotContainKey("x-delivery-count"); // a fresh start
        assertThat(redriven.getEnvelope().isRedeliver()).isFalse();
        assertThat(deaths(redriven)).hasSize(1);
        assertDeath(deaths(redriven).get(0), 1, "delivery_limit", queue, "", List.of(queue), null, from);
        assertFirstDeath(redriven, "delivery_limit", queue, "");
        assertThat(channel.queueDeclarePassive(queue).getMessageCount()).isZero();
        channel.queueDelete(queue);
    }

    @Test
    void shouldDropAPoisonMessageAfterTheDeliveryLimitWhenThereIsNoDeadLetterExchange() throws Exception {
        assumeThat(broker.isCourier())
                .as("RabbitMQ has x-delivery-limit on quorum queues only")
                .isTrue();
        Channel channel = broker.connect().createChannel();
        String queue = declare(channel, Map.of("x-delivery-limit", 2));
        channel.basicPublish("", queue, null, bytes("poison"));
        for (long failed = 0; failed <= 2; failed++) {
            GetResponse got = Wire.getEventually(channel, queue, false);
            assertThat(deliveryCount(got.getProps())).isEqualTo(failed);
            channel.basicNack(got.getEnvelope().getDeliveryTag(), false, true);
        }
        QueueStats stats = broker.server().broker().vhost("/").findQueue(queue).stats();
        await().until(() -> stats.get(QueueStats.Counter.DEAD_LETTER) == 1);
        assertThat(channel.basicGet(queue, false)).isNull();
        assertThat(channel.queueDeclarePassive(queue).getMessageCount()).isZero();
    }

    @Test
    void shouldCountAConsumerConnectionThatClosesWithTheMessageUnackedAsAFailedDelivery() throws Exception {
        assumeThat(broker.isCourier())
                .as("RabbitMQ has x-delivery-limit on quorum queues only")
                .isTrue();
        Channel channel = broker.connect().createChannel();
        String[] dead = deadLetterTarget(channel);
        String queue = declareKept(channel, Map.of("x-delivery-limit", 2, "x-dead-letter-exchange", dead[0]));
        channel.basicPublish("", queue, null, bytes("crashes its consumers"));
        List<Object> deliveryCounts = new ArrayList<>();
        for (int attempt = 0; attempt <= 2; attempt++) {
            Connection consumerConnection = broker.connect();
            Channel consumerChannel = consumerConnection.createChannel();
            java.util.concurrent.BlockingQueue<AMQP.BasicProperties> received =
                    new java.util.concurrent.LinkedBlockingQueue<>();
            consumerChannel.basicConsume(queue, false, new DefaultConsumer(consumerChannel) {
                @Override
                public void handleDelivery(String tag, Envelope envelope, AMQP.BasicProperties props, byte[] body) {
                    received.add(props);
                }
            });
            AMQP.BasicProperties props = received.poll(10, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(props).as("delivery %d", attempt).isNotNull();
            deliveryCounts.add(deliveryCount(props));
            consumerConnection.close(); // the consumer "crashes" without acking
        }
        assertThat(deliveryCounts).containsExactly(0L, 1L, 2L);
        GetResponse dead1 = Wire.getEventually(channel, dead[1]);
        assertThat(text(dead1.getBody())).isEqualTo("crashes its consumers");
        assertThat(deathSummary(dead1)).containsExactly(queue + " delivery_limit 1");
        assertThat(channel.queueDeclarePassive(queue).getMessageCount()).isZero();
        channel.queueDelete(queue);
    }

    @Test
    void shouldHandOverToTheNextSingleActiveConsumerWhenTheFirstGoes() throws Exception {
        Channel channel = broker.connect().createChannel();
        String queue = declare(channel, Map.of("x-single-active-consumer", true));
        Channel firstChannel = broker.connect().createChannel();
        Channel secondChannel = broker.connect().createChannel();
        List<String> first = new CopyOnWriteArrayList<>();
        List<String> second = new CopyOnWriteArrayList<>();
        String firstTag = firstChannel.basicConsume(queue, true, recorder(firstChannel, first));
        secondChannel.basicConsume(queue, true, recorder(secondChannel, second));
        for (int i = 0; i < 10; i++) {
            channel.basicPublish("", queue, null, bytes("a" + i));
        }
        await().until(() -> first.size() == 10);
        assertThat(second).isEmpty();
        firstChannel.basicCancel(firstTag);
        for (int i = 0; i < 5; i++) {
            channel.basicPublish("", queue, null, bytes("b" + i));
        }
        await().until(() -> second.size() == 5);
        assertThat(first).hasSize(10);
    }

    /** A fanout exchange bound to these queues. */
    private static String fanoutTo(Channel channel, String... queues) throws IOException {
        String exchange = CourierBroker.unique("x");
        channel.exchangeDeclare(exchange, "fanout", false, true, null);
        for (String queue : queues) {
            channel.queueBind(queue, exchange, "");
        }
        return exchange;
    }

    private static String plainQueue(Channel channel, String prefix) throws IOException {
        return channel.queueDeclare(CourierBroker.unique(prefix), false, false, true, null)
                .getQueue();
    }

    /** Nothing moves any more in these queues: they stay empty for a while. */
    private static void assertStaysEmpty(Channel channel, String... queues) {
        await().during(java.time.Duration.ofMillis(300))
                .atMost(java.time.Duration.ofSeconds(5))
                .until(() -> {
                    for (String queue : queues) {
                        if (channel.queueDeclarePassive(queue).getMessageCount() != 0) {
                            return false;
                        }
                    }
                    return true;
                });
    }

    /**
     * Two queues with a short TTL dead-letter into each other: {@code ring[0]} into {@code ring[1]}
     * (and a watch queue {@code ring[2]}), {@code ring[1]} back into {@code ring[0]} (and a watch
     * queue {@code ring[3]}).
     */
    private static String[] expiryRing(Channel channel) throws IOException {
        String first = plainQueue(channel, "ring-a-watch");
        String second = plainQueue(channel, "ring-b-watch");
        String a = CourierBroker.unique("ring-a");
        String b = CourierBroker.unique("ring-b");
        String intoB = CourierBroker.unique("into-b");
        String intoA = CourierBroker.unique("into-a");
        channel.exchangeDeclare(intoB, "fanout", false, false, null);
        channel.exchangeDeclare(intoA, "fanout", false, false, null);
        channel.queueDeclare(a, false, false, false, Map.of("x-message-ttl", 20, "x-dead-letter-exchange", intoB));
        channel.queueDeclare(b, false, false, false, Map.of("x-message-ttl", 20, "x-dead-letter-exchange", intoA));
        channel.queueBind(b, intoB, "");
        channel.queueBind(first, intoB, "");
        channel.queueBind(a, intoA, "");
        channel.queueBind(second, intoA, "");
        return new String[] {a, b, first, second, intoB, intoA};
    }

    private static void deleteRing(Channel channel, String[] ring) throws IOException {
        channel.queueDelete(ring[0]);
        channel.queueDelete(ring[1]);
        channel.exchangeDelete(ring[4]);
        channel.exchangeDelete(ring[5]);
    }

    @Test
    void shouldDropAMessageThatOnlyExpiresRoundACycleOfQueues() throws Exception {
        Channel channel = broker.connect().createChannel();
        String[] ring = expiryRing(channel);
        channel.basicPublish("", ring[0], null, bytes("round"));
        GetResponse afterA = Wire.getEventually(channel, ring[2]);
        assertThat(deathSummary(afterA)).containsExactly(ring[0] + " expired 1");
        GetResponse afterB = Wire.getEventually(channel, ring[3]);
        assertThat(deathSummary(afterB)).containsExactly(ring[1] + " expired 1", ring[0] + " expired 1");
        // back into ring[0] would close a cycle of expiries only: RabbitMQ drops it there
        assertStaysEmpty(channel, ring[0], ring[1], ring[2], ring[3]);
        deleteRing(channel, ring);
    }

    @Test
    void shouldDropAMessageGoingRoundAnExpiryCycleEvenIfItWasRejectedBeforeEnteringIt() throws Exception {
        Channel channel = broker.connect().createChannel();
        String[] ring = expiryRing(channel);
        String entry = declare(channel, Map.of("x-dead-letter-exchange", "", "x-dead-letter-routing-key", ring[0]));
        channel.basicPublish("", entry, null, bytes("rejected once"));
        GetResponse got = Wire.getEventually(channel, entry, false);
        channel.basicReject(got.getEnvelope().getDeliveryTag(), false);
        GetResponse afterB = Wire.getEventually(channel, ring[3]);
        assertThat(deathSummary(afterB))
                .containsExactly(ring[1] + " expired 1", ring[0] + " expired 1", entry + " rejected 1");
        // the rejection is not part of the cycle ring[0] -> ring[1] -> ring[0]: still dropped
        assertStaysEmpty(channel, ring[0], ring[1], ring[3]);
        assertThat(channel.queueDeclarePassive(ring[2]).getMessageCount()).isEqualTo(1);
        deleteRing(channel, ring);
    }

    @Test
    void shouldKeepAMessageGoingRoundACycleThatIncludesARejection() throws Exception {
        Channel channel = broker.connect().createChannel();
        // expiring: TTL, dead-letters into checked; checked: a consumer rejects, dead-letters back
        String expiring = CourierBroker.unique("expiring");
        String checked = CourierBroker.unique("checked");
        plainQueueNamed(
                channel,
                expiring,
                Map.of("x-message-ttl", 20, "x-dead-letter-exchange", "", "x-dead-letter-routing-key", checked));
        plainQueueNamed(channel, checked, Map.of("x-dead-letter-exchange", "", "x-dead-letter-routing-key", expiring));
        channel.basicPublish("", expiring, null, bytes("retried"));
        for (int round = 1; round <= 4; round++) {
            GetResponse got = Wire.getEventually(channel, checked, false);
            assertThat(text(got.getBody())).isEqualTo("retried");
            if (round == 1) {
                assertThat(deathSummary(got)).containsExactly(expiring + " expired 1");
            } else {
                assertThat(deathSummary(got))
                        .as("round %d", round)
                        .containsExactly(expiring + " expired " + round, checked + " rejected " + (round - 1));
            }
            assertFirstDeath(got, "expired", expiring, "");
            if (round < 4) {
                channel.basicReject(got.getEnvelope().getDeliveryTag(), false);
            } else {
                channel.basicAck(got.getEnvelope().getDeliveryTag(), false);
            }
        }
        assertStaysEmpty(channel, expiring, checked);
        channel.queueDelete(expiring);
        channel.queueDelete(checked);
    }

    private static String plainQueueNamed(Channel channel, String name, Map<String, Object> arguments)
            throws IOException {
        return channel.queueDeclare(name, false, false, true, arguments).getQueue();
    }

    @Test
    void shouldCountARepeatedDeathInItsFirstEntryMovedToTheFront() throws Exception {
        Channel channel = broker.connect().createChannel();
        String second = CourierBroker.unique("second");
        String first = declare(channel, Map.of("x-dead-letter-exchange", "", "x-dead-letter-routing-key", second));
        String dlx = fanoutTo(channel); // bound below, once the second queue exists
        plainQueueNamed(channel, second, Map.of("x-dead-letter-exchange", dlx));
        channel.queueBind(first, dlx, "");
        long from = nowSeconds();
        channel.basicPublish("", first, null, bytes("bounced"));

        channel.basicReject(
                Wire.getEventually(channel, first, false).getEnvelope().getDeliveryTag(), false);
        channel.basicReject(
                Wire.getEventually(channel, second, false).getEnvelope().getDeliveryTag(), false);
        GetResponse again = Wire.getEventually(channel, first, false);
        assertThat(deathSummary(again)).containsExactly(second + " rejected 1", first + " rejected 1");
        assertDeath(deaths(again).get(0), 1, "rejected", second, "", List.of(second), null, from);
        assertDeath(deaths(again).get(1), 1, "rejected", first, "", List.of(first), null, from);
        channel.basicReject(again.getEnvelope().getDeliveryTag(), false);

        GetResponse twice = Wire.getEventually(channel, second);
        assertThat(deathSummary(twice)).containsExactly(first + " rejected 2", second + " rejected 1");
        // the repeated death keeps its first exchange and routing keys, and moves to the front
        assertDeath(deaths(twice).get(0), 2, "rejected", first, "", List.of(first), null, from);
        assertDeath(deaths(twice).get(1), 1, "rejected", second, "", List.of(second), null, from);
        assertFirstDeath(twice, "rejected", first, "");
        assertThat(twice.getEnvelope().getExchange()).isEmpty();
        assertThat(twice.getEnvelope().getRoutingKey()).isEqualTo(second);
    }

    @Test
    void shouldKeepTheOriginalExpirationOfARejectedMessageAndNotExpireItAgain() throws Exception {
        Channel channel = broker.connect().createChannel();
        String[] dead = deadLetterTarget(channel);
        String queue = declare(channel, Map.of("x-dead-letter-exchange", dead[0]));
        long from = nowSeconds();
        channel.basicPublish(
                "",
                queue,
                new AMQP.BasicProperties.Builder().expiration("60000").build(),
                bytes("declined"));
        GetResponse got = Wire.getEventually(channel, queue, false);
        channel.basicReject(got.getEnvelope().getDeliveryTag(), false);
        GetResponse rejected = Wire.getEventually(channel, dead[1]);
        assertThat(rejected.getProps().getExpiration()).isNull();
        assertDeath(deaths(rejected).get(0), 1, "rejected", queue, "", List.of(queue), "60000", from);
    }

    @Test
    void shouldDeliverInPriorityOrderToAConsumerWithPrefetch() throws Exception {
        Channel channel = broker.connect().createChannel();
        String queue = declare(channel, Map.of("x-max-priority", 10));
        java.util.SplittableRandom random = new java.util.SplittableRandom(4);
        List<String> expected = new ArrayList<>();
        channel.confirmSelect();
        for (int i = 0; i < 60; i++) {
            int p = random.nextInt(11);
            String body = String.format("%02d-%02d", 10 - p, i); // sorts as priority desc, then FIFO
            expected.add(body);
            channel.basicPublish("", queue, priority(p), bytes(body));
        }
        channel.waitForConfirmsOrDie(5_000);
        expected.sort(null);

        Channel consumerChannel = broker.connect().createChannel();
        consumerChannel.basicQos(3);
        List<String> order = new CopyOnWriteArrayList<>();
        consumerChannel.basicConsume(queue, false, new DefaultConsumer(consumerChannel) {
            @Override
            public void handleDelivery(String tag, Envelope envelope, AMQP.BasicProperties props, byte[] body)
                    throws IOException {
                order.add(text(body));
                consumerChannel.basicAck(envelope.getDeliveryTag(), false);
            }
        });
        await().until(() -> order.size() == 60);
        assertThat(order).containsExactlyElementsOf(expected);
    }

    @Test
    void shouldRedeliverRequeuedMessagesInPriorityOrderAtTheirOriginalPositions() throws Exception {
        Channel channel = broker.connect().createChannel();
        String queue = declareKept(channel, Map.of("x-max-priority", 9));
        channel.confirmSelect();
        int[] priorities = {1, 5, 1, 5, 9, 1, 5};
        for (int i = 0; i < priorities.length; i++) {
            channel.basicPublish("", queue, priority(priorities[i]), bytes(priorities[i] + "-" + i));
        }
        channel.waitForConfirmsOrDie(5_000);

        Channel first = broker.connect().createChannel();
        first.basicQos(3);
        List<Long> tags = new CopyOnWriteArrayList<>();
        List<String> firstGot = new CopyOnWriteArrayList<>();
        String firstTag = first.basicConsume(queue, false, new DefaultConsumer(first) {
            @Override
            public void handleDelivery(String tag, Envelope envelope, AMQP.BasicProperties props, byte[] body) {
                firstGot.add(text(body));
                tags.add(envelope.getDeliveryTag());
            }
        });
        await().until(() -> firstGot.size() == 3);
        assertThat(firstGot).containsExactly("9-4", "5-1", "5-3");
        channel.basicPublish("", queue, priority(5), bytes("5-7"));
        channel.basicPublish("", queue, priority(9), bytes("9-8"));
        channel.waitForConfirmsOrDie(5_000);
        first.basicCancel(firstTag); // or the nacked messages would come straight back to it
        // nacked one by one, out of order: each goes back to where it was in its level
        first.basicNack(tags.get(2), false, true);
        first.basicNack(tags.get(0), false, true);
        first.basicNack(tags.get(1), false, true);
        first.close();

        Channel second = broker.connect().createChannel();
        second.basicQos(2);
        List<String> order = new CopyOnWriteArrayList<>();
        second.basicConsume(queue, false, new DefaultConsumer(second) {
            @Override
            public void handleDelivery(String tag, Envelope envelope, AMQP.BasicProperties props, byte[] body)
                    throws IOException {
                order.add(text(body) + (envelope.isRedeliver() ? " again" : ""));
                second.basicAck(envelope.getDeliveryTag(), false);
            }
        });
        await().until(() -> order.size() == 9);
        assertThat(order)
                .containsExactly("9-4 again", "9-8", "5-1 again", "5-3 again", "5-6", "5-7", "1-0", "1-2", "1-5");
        channel.queueDelete(queue);
    }

    @Test
    void shouldHandTheReadyMessagesToTheNextSingleActiveConsumerWhenTheFirstCancels() throws Exception {
        Channel channel = broker.connect().createChannel();
        String queue = declareKept(channel, Map.of("x-single-active-consumer", true));
        channel.confirmSelect();
        for (int i = 0; i < 6; i++) {
            channel.basicPublish("", queue, null, bytes("m" + i));
        }
        channel.waitForConfirmsOrDie(5_000);
        Channel firstChannel = broker.connect().createChannel();
        firstChannel.basicQos(2);
        List<String> first = new CopyOnWriteArrayList<>();
        String firstTag = firstChannel.basicConsume(queue, false, recorder(firstChannel, first));
        Channel secondChannel = broker.connect().createChannel();
        List<String> second = new CopyOnWriteArrayList<>();
        secondChannel.basicConsume(queue, true, recorder(secondChannel, second));
        await().until(() -> first.size() == 2);
        assertThat(second).isEmpty();
        firstChannel.basicCancel(firstTag); // its two unacked messages stay with its channel
        await().until(() -> second.size() == 4);
        assertThat(second).containsExactly("m2", "m3", "m4", "m5");
        channel.queueDelete(queue);
    }

    @Test
    void shouldHandOverUnackedMessagesInOrderWhenTheActiveConsumersConnectionDrops() throws Exception {
        Channel channel = broker.connect().createChannel();
        String queue = declareKept(channel, Map.of("x-single-active-consumer", true));
        Connection firstConnection = broker.connect();
        Channel firstChannel = firstConnection.createChannel();
        firstChannel.basicQos(4);
        List<String> first = new CopyOnWriteArrayList<>();
        firstChannel.basicConsume(queue, false, recorder(firstChannel, first));
        Channel secondChannel = broker.connect().createChannel();
        List<String> second = new CopyOnWriteArrayList<>();
        secondChannel.basicConsume(queue, false, new DefaultConsumer(secondChannel) {
            @Override
            public void handleDelivery(String tag, Envelope envelope, AMQP.BasicProperties props, byte[] body)
                    throws IOException {
                second.add(text(body) + (envelope.isRedeliver() ? " again" : ""));
                secondChannel.basicAck(envelope.getDeliveryTag(), false);
            }
        });
        channel.confirmSelect();
        for (int i = 0; i < 8; i++) {
            channel.basicPublish("", queue, null, bytes("m" + i));
        }
        channel.waitForConfirmsOrDie(5_000);
        await().until(() -> first.size() == 4);
        assertThat(first).containsExactly("m0", "m1", "m2", "m3");
        assertThat(second).isEmpty();

        firstConnection.abort(); // the active consumer's connection drops, nothing acked
        await().until(() -> second.size() == 8);
        assertThat(second).containsExactly("m0 again", "m1 again", "m2 again", "m3 again", "m4", "m5", "m6", "m7");
        channel.basicPublish("", queue, null, bytes("m8"));
        await().until(() -> second.size() == 9);
        assertThat(first).hasSize(4);
        channel.queueDelete(queue);
    }

    private static DefaultConsumer recorder(Channel channel, List<String> sink) {
        return new DefaultConsumer(channel) {
            @Override
            public void handleDelivery(String tag, Envelope envelope, AMQP.BasicProperties props, byte[] body) {
                sink.add(text(body));
            }
        };
    }

    @Test
    void shouldDeleteAQueueThatStaysUnusedForItsExpiry() throws Exception {
        Channel channel = broker.connect().createChannel();
        String queue = channel.queueDeclare(
                        CourierBroker.unique("expires"), false, false, false, Map.of("x-expires", 100))
                .getQueue();
        channel.basicPublish("", queue, null, bytes("left behind"));
        // probe with mandatory publishes: a passive declare would count as a use and reset the expiry
        java.util.concurrent.atomic.AtomicBoolean returned = new java.util.concurrent.atomic.AtomicBoolean();
        channel.addReturnListener(r -> returned.set(true));
        await().until(() -> {
            channel.basicPublish("", queue, true, null, bytes("probe"));
            return returned.get();
        });
    }

    @Test
    void shouldKeepAnExpiringQueueWhileItHasAConsumer() throws Exception {
        Channel channel = broker.connect().createChannel();
        String queue = channel.queueDeclare(CourierBroker.unique("kept"), false, false, false, Map.of("x-expires", 100))
                .getQueue();
        channel.basicConsume(queue, true, new DefaultConsumer(channel));
        await().during(java.time.Duration.ofMillis(400))
                .atMost(java.time.Duration.ofSeconds(5))
                .until(() -> broker.connect()
                                .createChannel()
                                .queueDeclarePassive(queue)
                                .getConsumerCount()
                        == 1);
        channel.queueDelete(queue);
    }

    @Test
    void shouldRefuseInvalidArgumentsWith406NamingTheArgument() throws Exception {
        Map<String, Map<String, Object>> invalid = new HashMap<>();
        invalid.put("x-max-length", Map.of("x-max-length", -1));
        invalid.put("x-message-ttl", Map.of("x-message-ttl", "soon"));
        invalid.put("x-overflow", Map.of("x-overflow", "explode"));
        invalid.put("x-max-priority", Map.of("x-max-priority", 300));
        for (Map.Entry<String, Map<String, Object>> entry : invalid.entrySet()) {
            Channel channel = broker.connect().createChannel();
            ShutdownSignalException e = closedBy(() -> declare(channel, entry.getValue()));
            assertThat(replyCode(e)).as(entry.getKey()).isEqualTo(406);
            assertThat(replyText(e)).as(entry.getKey()).contains(entry.getKey());
        }
    }

    @Test
    void shouldRefuseAnInvalidPerMessageExpirationWith406() throws Exception {
        Channel channel = broker.connect().createChannel();
        String queue = declare(channel, null);
        channel.basicPublish(
                "", queue, new AMQP.BasicProperties.Builder().expiration("soon").build(), bytes("x"));
        ShutdownSignalException e = closedBy(() -> channel.queueDeclarePassive(queue));
        assertThat(replyCode(e)).isEqualTo(406);
    }
}
