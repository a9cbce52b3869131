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
import com.rabbitmq.client.DefaultConsumer;
import com.rabbitmq.client.Envelope;
import com.rabbitmq.client.GetResponse;
import com.rabbitmq.client.ShutdownSignalException;
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
        channel.basicPublish("", queue, null, bytes("short-lived"));
        GetResponse expired = Wire.getEventually(channel, dead[1]);
        assertThat(text(expired.getBody())).isEqualTo("short-lived");
        assertThat(expired.getProps().getHeaders().get("x-first-death-reason").toString())
                .isEqualTo("expired");
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
        channel.basicPublish("", queue, null, bytes("stays"));
        channel.basicPublish(
                "", queue, new AMQP.BasicProperties.Builder().expiration("50").build(), bytes("goes"));
        GetResponse expired = Wire.getEventually(channel, dead[1]);
        assertThat(text(expired.getBody())).isEqualTo("goes");
        assertThat(expired.getProps().getExpiration()).isNull();
        @SuppressWarnings("unchecked")
        Map<String, Object> death =
                ((List<Map<String, Object>>) expired.getProps().getHeaders().get("x-death")).get(0);
        assertThat(death.get("original-expiration").toString()).isEqualTo("50");
        assertThat(drain(channel, queue)).containsExactly("stays");
    }

    @Test
    void shouldDropTheHeadIntoTheDeadLetterQueueWhenFull() throws Exception {
        Channel channel = broker.connect().createChannel();
        String[] dead = deadLetterTarget(channel);
        String queue = declare(channel, Map.of("x-max-length", 2, "x-dead-letter-exchange", dead[0]));
        channel.confirmSelect();
        for (int i = 1; i <= 4; i++) {
            channel.basicPublish("", queue, null, bytes("m" + i));
        }
        channel.waitForConfirmsOrDie(5_000);
        assertThat(drain(channel, queue)).containsExactly("m3", "m4");
        await().until(() -> channel.queueDeclarePassive(dead[1]).getMessageCount() == 2);
        GetResponse first = channel.basicGet(dead[1], true);
        assertThat(text(first.getBody())).isEqualTo("m1");
        assertThat(first.getProps().getHeaders().get("x-first-death-reason").toString())
                .isEqualTo("maxlen");
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
        channel.basicPublish("", queue, null, bytes("kept"));
        channel.basicPublish("", queue, null, bytes("refused"));
        assertThat(channel.waitForConfirms(5_000)).isFalse();
        assertThat(text(Wire.getEventually(channel, dead[1]).getBody())).isEqualTo("refused");
        assertThat(drain(channel, queue)).containsExactly("kept");
    }

    @Test
    void shouldDeadLetterAPoisonMessageAfterTheDeliveryLimit() throws Exception {
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
                Map<String, Object> headers = props.getHeaders();
                deliveryCounts.add(headers == null ? 0L : headers.get("x-delivery-count"));
                consumerChannel.basicNack(envelope.getDeliveryTag(), false, true); // always fails
            }
        });
        channel.basicPublish("", queue, null, bytes("poison"));
        GetResponse poisoned = Wire.getEventually(channel, dead[1]);
        assertThat(deliveryCounts).containsExactly(0L, 1L, 2L, 3L); // limit + 1 deliveries
        assertThat(poisoned.getProps().getHeaders().get("x-first-death-reason").toString())
                .isEqualTo("delivery_limit");

        // redrive: back to the source queue, where a healthy consumer could take it
        consumerChannel.close();
        int moved = broker.server()
                .broker()
                .vhost("/")
                .moveMessages(dead[1], queue, 10, null)
                .get();
        assertThat(moved).isZero(); // the DLQ was drained by basicGet above
        channel.basicPublish(dead[0], "", null, bytes("again"));
        await().until(() -> channel.queueDeclarePassive(dead[1]).getMessageCount() == 1);
        assertThat(broker.server()
                        .broker()
                        .vhost("/")
                        .moveMessages(dead[1], queue, 10, null)
                        .get())
                .isEqualTo(1);
        assertThat(text(Wire.getEventually(channel, queue).getBody())).isEqualTo("again");
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
