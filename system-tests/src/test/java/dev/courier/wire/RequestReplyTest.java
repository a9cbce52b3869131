package dev.courier.wire;

import static dev.courier.wire.Wire.await;
import static dev.courier.wire.Wire.bytes;
import static dev.courier.wire.Wire.closedBy;
import static dev.courier.wire.Wire.replyCode;
import static dev.courier.wire.Wire.text;
import static org.assertj.core.api.Assertions.assertThat;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.DefaultConsumer;
import com.rabbitmq.client.Envelope;
import com.rabbitmq.client.GetResponse;
import com.rabbitmq.client.LongString;
import com.rabbitmq.client.ShutdownSignalException;
import java.math.BigDecimal;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Request/response: reply_to and correlation_id, every property and header type, direct reply-to. */
class RequestReplyTest {
    @RegisterExtension
    static final CourierBroker broker = new CourierBroker();

    @Test
    void shouldPassEveryPropertyAndHeaderTypeThroughUntouched() throws Exception {
        Channel channel = broker.connect().createChannel();
        String queue = channel.queueDeclare().getQueue();
        Map<String, Object> nested = new LinkedHashMap<>();
        nested.put("inner", "value");
        Map<String, Object> headers = new LinkedHashMap<>();
        headers.put("string", "text ü");
        headers.put("int", 42);
        headers.put("long", 1L << 40);
        headers.put("bool", true);
        headers.put("double", 2.5d);
        headers.put("float", 1.5f);
        headers.put("short", (short) 7);
        headers.put("byte", (byte) 3);
        headers.put("decimal", new BigDecimal("12.34"));
        headers.put("timestamp", new Date(1_700_000_000_000L));
        headers.put("table", nested);
        headers.put("array", List.of(1, "two", true));
        headers.put("bytes", new byte[] {1, 2, 3});
        headers.put("void", null);
        AMQP.BasicProperties sent = new AMQP.BasicProperties.Builder()
                .contentType("application/json")
                .contentEncoding("gzip")
                .headers(headers)
                .deliveryMode(2)
                .priority(5)
                .correlationId("corr-1")
                .replyTo("replies")
                .expiration("60000")
                .messageId("msg-1")
                .timestamp(new Date(1_700_000_000_000L))
                .type("order.created")
                .userId("guest")
                .appId("tests")
                .clusterId("c1")
                .build();
        channel.basicPublish("", queue, sent, bytes("{}"));
        AMQP.BasicProperties received = Wire.getEventually(channel, queue).getProps();
        assertThat(received.getContentType()).isEqualTo("application/json");
        assertThat(received.getContentEncoding()).isEqualTo("gzip");
        assertThat(received.getDeliveryMode()).isEqualTo(2);
        assertThat(received.getPriority()).isEqualTo(5);
        assertThat(received.getCorrelationId()).isEqualTo("corr-1");
        assertThat(received.getReplyTo()).isEqualTo("replies");
        assertThat(received.getExpiration()).isEqualTo("60000");
        assertThat(received.getMessageId()).isEqualTo("msg-1");
        assertThat(received.getTimestamp()).isEqualTo(new Date(1_700_000_000_000L));
        assertThat(received.getType()).isEqualTo("order.created");
        assertThat(received.getUserId()).isEqualTo("guest");
        assertThat(received.getAppId()).isEqualTo("tests");
        assertThat(received.getClusterId()).isEqualTo("c1");
        Map<String, Object> got = received.getHeaders();
        assertThat(got.get("string").toString()).isEqualTo("text ü");
        assertThat(got.get("string")).isInstanceOf(LongString.class);
        assertThat(got).containsEntry("int", 42).containsEntry("long", 1L << 40).containsEntry("bool", true);
        assertThat(got).containsEntry("double", 2.5d).containsEntry("float", 1.5f);
        assertThat(got).containsEntry("short", (short) 7).containsEntry("byte", (byte) 3);
        assertThat(got).containsEntry("decimal", new BigDecimal("12.34"));
        assertThat(got).containsEntry("timestamp", new Date(1_700_000_000_000L));
        assertThat(((Map<?, ?>) got.get("table")).get("inner").toString()).isEqualTo("value");
        assertThat((List<?>) got.get("array")).hasSize(3);
        assertThat((byte[]) got.get("bytes")).containsExactly(1, 2, 3);
        assertThat(got).containsKey("void");
        assertThat(got.get("void")).isNull();
    }

    @Test
    void shouldRefuseAUserIdThatIsNotTheAuthenticatedUserWith406() throws Exception {
        Channel channel = broker.connect().createChannel();
        String queue = channel.queueDeclare().getQueue();
        channel.basicPublish(
                "", queue, new AMQP.BasicProperties.Builder().userId("mallory").build(), bytes("x"));
        ShutdownSignalException e = closedBy(() -> channel.queueDeclarePassive(queue));
        assertThat(replyCode(e)).isEqualTo(406);
    }

    @Test
    void shouldAnswerRequestsThroughAReplyQueueWithCorrelationIds() throws Exception {
        Channel server = broker.connect().createChannel();
        String requests = server.queueDeclare().getQueue();
        server.basicConsume(requests, true, new DefaultConsumer(server) {
            @Override
            public void handleDelivery(String tag, Envelope envelope, AMQP.BasicProperties props, byte[] body)
                    throws java.io.IOException {
                AMQP.BasicProperties reply = new AMQP.BasicProperties.Builder()
                        .correlationId(props.getCorrelationId())
                        .build();
                server.basicPublish(
                        "", props.getReplyTo(), reply, bytes(text(body).toUpperCase()));
            }
        });
        Channel client = broker.connect().createChannel();
        String replies = client.queueDeclare().getQueue();
        client.basicPublish(
                "",
                requests,
                new AMQP.BasicProperties.Builder()
                        .replyTo(replies)
                        .correlationId("42")
                        .build(),
                bytes("ping"));
        GetResponse response = Wire.getEventually(client, replies);
        assertThat(text(response.getBody())).isEqualTo("PING");
        assertThat(response.getProps().getCorrelationId()).isEqualTo("42");
    }

    @Test
    void shouldRouteDirectReplyToRepliesStraightToTheRequestingChannel() throws Exception {
        Channel server = broker.connect().createChannel();
        String requests = server.queueDeclare().getQueue();
        CompletableFuture<String> replyToSeen = new CompletableFuture<>();
        server.basicConsume(requests, true, new DefaultConsumer(server) {
            @Override
            public void handleDelivery(String tag, Envelope envelope, AMQP.BasicProperties props, byte[] body)
                    throws java.io.IOException {
                replyToSeen.complete(props.getReplyTo());
                server.basicPublish(
                        "",
                        props.getReplyTo(),
                        new AMQP.BasicProperties.Builder()
                                .correlationId(props.getCorrelationId())
                                .build(),
                        bytes("pong"));
            }
        });
        Channel client = broker.connect().createChannel();
        CompletableFuture<String> reply = new CompletableFuture<>();
        client.basicConsume("amq.rabbitmq.reply-to", true, new DefaultConsumer(client) {
            @Override
            public void handleDelivery(String tag, Envelope envelope, AMQP.BasicProperties props, byte[] body) {
                reply.complete(props.getCorrelationId() + ":" + text(body));
            }
        });
        client.basicPublish(
                "",
                requests,
                new AMQP.BasicProperties.Builder()
                        .replyTo("amq.rabbitmq.reply-to")
                        .correlationId("c7")
                        .build(),
                bytes("ping"));
        assertThat(reply.get(10, TimeUnit.SECONDS)).isEqualTo("c7:pong");
        assertThat(replyToSeen.get(10, TimeUnit.SECONDS)).startsWith("amq.rabbitmq.reply-to.");
    }

    @Test
    void shouldRefuseDirectReplyToWithoutAReplyConsumerWith406() throws Exception {
        Channel channel = broker.connect().createChannel();
        String queue = channel.queueDeclare().getQueue();
        channel.basicPublish(
                "",
                queue,
                new AMQP.BasicProperties.Builder()
                        .replyTo("amq.rabbitmq.reply-to")
                        .build(),
                bytes("x"));
        ShutdownSignalException e = closedBy(() -> channel.queueDeclarePassive(queue));
        assertThat(replyCode(e)).isEqualTo(406);
    }

    @Test
    void shouldRefuseAnAckingDirectReplyToConsumerWith406() throws Exception {
        Channel channel = broker.connect().createChannel();
        ShutdownSignalException e =
                closedBy(() -> channel.basicConsume("amq.rabbitmq.reply-to", false, new DefaultConsumer(channel)));
        assertThat(replyCode(e)).isEqualTo(406);
    }

    @Test
    void shouldDeliverABurstOfRepliesInOrder() throws Exception {
        Channel client = broker.connect().createChannel();
        List<String> got = new java.util.concurrent.CopyOnWriteArrayList<>();
        client.basicConsume("amq.rabbitmq.reply-to", true, new DefaultConsumer(client) {
            @Override
            public void handleDelivery(String tag, Envelope envelope, AMQP.BasicProperties props, byte[] body) {
                got.add(text(body));
            }
        });
        Channel server = broker.connect().createChannel();
        String requests = server.queueDeclare().getQueue();
        client.basicPublish(
                "",
                requests,
                new AMQP.BasicProperties.Builder()
                        .replyTo("amq.rabbitmq.reply-to")
                        .build(),
                bytes("r"));
        String address = Wire.getEventually(server, requests).getProps().getReplyTo();
        for (int i = 0; i < 100; i++) {
            server.basicPublish("", address, null, bytes(Integer.toString(i)));
        }
        await().until(() -> got.size() == 100);
        assertThat(got.get(0)).isEqualTo("0");
        assertThat(got.get(99)).isEqualTo("99");
    }
}
