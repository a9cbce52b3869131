package dev.courier.wire;

import static dev.courier.wire.Wire.await;
import static dev.courier.wire.Wire.bytes;
import static dev.courier.wire.Wire.text;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.DefaultConsumer;
import com.rabbitmq.client.Envelope;
import com.rabbitmq.client.ShutdownSignalException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The management HTTP API through a real HTTP client: RabbitMQ's paths, fields and status codes. */
class ManagementApiTest {
    @RegisterExtension
    static final CourierBroker broker = new CourierBroker();

    private static final ObjectMapper JSON = new ObjectMapper();
    private final HttpClient http = HttpClient.newHttpClient();
    private String base;

    @BeforeEach
    void onlyOnCourier() {
        org.junit.jupiter.api.Assumptions.assumeTrue(broker.isCourier(), "the management API runs on Courier's port");
        base = "http://127.0.0.1:" + broker.server().httpPort();
    }

    private record Answer(int status, JsonNode json, HttpResponse<String> raw) {}

    private Answer call(String method, String path, Object body) throws Exception {
        return call(method, path, body, "guest", "guest");
    }

    private Answer call(String method, String path, Object body, String user, String password) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base + path))
                .method(
                        method,
                        body == null
                                ? HttpRequest.BodyPublishers.noBody()
                                : HttpRequest.BodyPublishers.ofString(
                                        body instanceof String s ? s : JSON.writeValueAsString(body)));
        if (user != null) {
            String credentials =
                    Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
            request.header("Authorization", "Basic " + credentials);
        }
        HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        JsonNode json = response.body().isEmpty() ? null : JSON.readTree(response.body());
        return new Answer(response.statusCode(), json, response);
    }

    private JsonNode get(String path) throws Exception {
        Answer answer = call("GET", path, null);
        assertThat(answer.status()).as("GET %s: %s", path, answer.raw().body()).isEqualTo(200);
        return answer.json();
    }

    private static String enc(String segment) {
        return URLEncoder.encode(segment, StandardCharsets.UTF_8).replace("+", "%20");
    }

    @Test
    void shouldRefuseRequestsWithoutValidBasicAuth() throws Exception {
        Answer anonymous = call("GET", "/api/overview", null, null, null);
        assertThat(anonymous.status()).isEqualTo(401);
        assertThat(anonymous.raw().headers().firstValue("WWW-Authenticate"))
                .hasValueSatisfying(v -> assertThat(v).startsWith("Basic"));
        assertThat(anonymous.json().get("error").asText()).isEqualTo("not_authorised");
        assertThat(call("GET", "/api/overview", null, "guest", "wrong").status())
                .isEqualTo(401);
        assertThat(call("GET", "/api/overview", null, "nobody", "guest").status())
                .isEqualTo(401);

        JsonNode whoami = get("/api/whoami");
        assertThat(whoami.get("name").asText()).isEqualTo("guest");
        assertThat(whoami.get("tags").toString()).contains("administrator");
    }

    @Test
    void shouldDescribeTheNodeAndItsObjectsInTheOverview() throws Exception {
        Connection connection = broker.connect();
        connection.createChannel();
        await().until(() ->
                get("/api/overview").get("object_totals").get("channels").asInt() >= 1);
        JsonNode overview = get("/api/overview");
        assertThat(overview.get("object_totals").get("connections").asInt()).isGreaterThanOrEqualTo(1);
        assertThat(overview.get("object_totals").get("exchanges").asInt()).isGreaterThanOrEqualTo(6);
        assertThat(overview.get("listeners").get(0).get("port").asInt()).isEqualTo(broker.port());
        assertThat(overview.get("queue_totals").has("messages_ready")).isTrue();

        JsonNode nodes = get("/api/nodes");
        assertThat(nodes).hasSize(1);
        assertThat(nodes.get(0).get("running").asBoolean()).isTrue();
        assertThat(get("/api/nodes/" + enc(nodes.get(0).get("name").asText()))
                        .get("name")
                        .asText())
                .isEqualTo(nodes.get(0).get("name").asText());
        assertThat(get("/api/vhosts").get(0).get("name").asText()).isEqualTo("/");
        assertThat(get("/api/vhosts/%2F").get("name").asText()).isEqualTo("/");
        assertThat(call("GET", "/api/vhosts/nowhere", null).status()).isEqualTo(404);
        assertThat(get("/api/users").get(0).get("name").asText()).isEqualTo("guest");
        assertThat(get("/api/permissions/%2F/guest").get("configure").asText()).isEqualTo(".*");
    }

    @Test
    void shouldDeclareListCountPurgeAndDeleteQueues() throws Exception {
        String queue = CourierBroker.unique("mgmt-q");
        String path = "/api/queues/%2F/" + enc(queue);
        Answer created = call("PUT", path, Map.of("durable", false, "arguments", Map.of("x-max-length", 100)));
        assertThat(created.status()).isEqualTo(201);
        assertThat(call("PUT", path, Map.of("durable", false, "arguments", Map.of("x-max-length", 100)))
                        .status())
                .isEqualTo(204);
        Answer inequivalent = call("PUT", path, Map.of("durable", false, "arguments", Map.of("x-max-length", 5)));
        assertThat(inequivalent.status()).isEqualTo(400);
        assertThat(inequivalent.json().get("reason").asText()).contains("PRECONDITION_FAILED", "x-max-length");

        Channel channel = broker.connect().createChannel();
        for (int i = 0; i < 3; i++) {
            channel.basicPublish("", queue, null, bytes("m" + i));
        }
        await().until(() -> get(path).get("messages_ready").asInt() == 3);
        JsonNode described = get(path);
        assertThat(described.get("vhost").asText()).isEqualTo("/");
        assertThat(described.get("durable").asBoolean()).isFalse();
        assertThat(described.get("arguments").get("x-max-length").asInt()).isEqualTo(100);
        assertThat(described.get("messages").asInt()).isEqualTo(3);
        assertThat(described.get("message_stats").get("publish").asLong()).isEqualTo(3);
        assertThat(described.get("message_bytes_ready").asLong()).isEqualTo(6);
        assertThat(get("/api/queues"))
                .anySatisfy(q -> assertThat(q.get("name").asText()).isEqualTo(queue));
        assertThat(get("/api/queues/%2F"))
                .anySatisfy(q -> assertThat(q.get("name").asText()).isEqualTo(queue));

        // one unacked message shows as such
        channel.basicGet(queue, false);
        await().until(() -> get(path).get("messages_unacknowledged").asInt() == 1);
        assertThat(get(path).get("messages_ready").asInt()).isEqualTo(2);

        assertThat(call("DELETE", path + "/contents", null).status()).isEqualTo(204);
        await().until(() -> get(path).get("messages_ready").asInt() == 0);
        assertThat(call("DELETE", path, null).status()).isEqualTo(204);
        assertThat(call("GET", path, null).status()).isEqualTo(404);
        assertThat(call("DELETE", "/api/queues/%2F/" + enc(queue) + "x", null).status())
                .isEqualTo(404);
    }

    @Test
    void shouldDeclareExchangesBindPublishAndGetThroughTheApi() throws Exception {
        String exchange = CourierBroker.unique("mgmt-x");
        String queue = CourierBroker.unique("mgmt-bq");
        assertThat(call("PUT", "/api/exchanges/%2F/" + enc(exchange), Map.of("type", "topic", "durable", false))
                        .status())
                .isEqualTo(201);
        assertThat(get("/api/exchanges/%2F/" + enc(exchange)).get("type").asText())
                .isEqualTo("topic");
        assertThat(call("PUT", "/api/exchanges/%2F/" + enc(exchange), Map.of("durable", false))
                        .status())
                .isEqualTo(400); // no type
        call("PUT", "/api/queues/%2F/" + enc(queue), Map.of("durable", false));

        Answer bound = call(
                "POST", "/api/bindings/%2F/e/" + enc(exchange) + "/q/" + enc(queue), Map.of("routing_key", "orders.#"));
        assertThat(bound.status()).isEqualTo(201);
        assertThat(bound.raw().headers().firstValue("Location")).hasValue("orders.#");
        JsonNode bindings = get("/api/bindings/%2F/e/" + enc(exchange) + "/q/" + enc(queue));
        assertThat(bindings).hasSize(1);
        assertThat(bindings.get(0).get("routing_key").asText()).isEqualTo("orders.#");
        assertThat(get("/api/exchanges/%2F/" + enc(exchange) + "/bindings/source"))
                .hasSize(1);
        assertThat(get("/api/queues/%2F/" + enc(queue) + "/bindings"))
                .anySatisfy(b -> assertThat(b.get("source").asText()).isEqualTo(exchange));

        Map<String, Object> message = Map.of(
                "routing_key", "orders.eu",
                "payload", "hello",
                "payload_encoding", "string",
                "properties", Map.of("headers", Map.of("origin", "api"), "delivery_mode", 2));
        Answer published = call("POST", "/api/exchanges/%2F/" + enc(exchange) + "/publish", message);
        assertThat(published.json().get("routed").asBoolean()).isTrue();
        Answer defaultExchange = call(
                "POST",
                "/api/exchanges/%2F/amq.default/publish",
                Map.of("routing_key", queue, "payload", "aGk=", "payload_encoding", "base64", "properties", Map.of()));
        assertThat(defaultExchange.json().get("routed").asBoolean()).isTrue();

        JsonNode got = call(
                        "POST",
                        "/api/queues/%2F/" + enc(queue) + "/get",
                        Map.of("count", 5, "ackmode", "ack_requeue_false", "encoding", "auto"))
                .json();
        assertThat(got).hasSize(2);
        assertThat(got.get(0).get("payload").asText()).isEqualTo("hello");
        assertThat(got.get(0).get("routing_key").asText()).isEqualTo("orders.eu");
        assertThat(got.get(0).get("properties").get("headers").get("origin").asText())
                .isEqualTo("api");
        assertThat(got.get(1).get("payload").asText()).isEqualTo("hi");
        await().until(() -> get("/api/queues/%2F/" + enc(queue)).get("messages").asInt() == 0);

        assertThat(call("DELETE", "/api/bindings/%2F/e/" + enc(exchange) + "/q/" + enc(queue) + "/orders.%23", null)
                        .status())
                .isEqualTo(204);
        assertThat(call("POST", "/api/exchanges/%2F/" + enc(exchange) + "/publish", message)
                        .json()
                        .get("routed")
                        .asBoolean())
                .isFalse();
        assertThat(call("DELETE", "/api/exchanges/%2F/" + enc(exchange), null).status())
                .isEqualTo(204);
        assertThat(call("GET", "/api/exchanges/%2F/" + enc(exchange), null).status())
                .isEqualTo(404);
        assertThat(get("/api/exchanges/%2F"))
                .anySatisfy(x -> assertThat(x.get("name").asText()).isEqualTo("amq.topic"));
    }

    @Test
    void shouldRequeueAMessageFetchedWithAckRequeueTrue() throws Exception {
        String queue = CourierBroker.unique("mgmt-peek");
        Channel channel = broker.connect().createChannel();
        channel.queueDeclare(queue, false, false, true, null);
        channel.basicPublish("", queue, null, bytes("peek"));
        await().until(() -> channel.queueDeclarePassive(queue).getMessageCount() == 1);
        JsonNode got = call(
                        "POST",
                        "/api/queues/%2F/" + enc(queue) + "/get",
                        Map.of("count", 1, "ackmode", "ack_requeue_true", "encoding", "auto"))
                .json();
        assertThat(got.get(0).get("payload").asText()).isEqualTo("peek");
        com.rabbitmq.client.GetResponse again = Wire.getEventually(channel, queue);
        assertThat(text(again.getBody())).isEqualTo("peek");
        assertThat(again.getEnvelope().isRedeliver()).isTrue();
    }

    @Test
    void shouldListConnectionsChannelsAndConsumersAndCloseAConnection() throws Exception {
        com.rabbitmq.client.ConnectionFactory factory = broker.factory();
        Connection connection = broker.track(factory.newConnection("orders-service"));
        Channel channel = connection.createChannel();
        channel.basicQos(7);
        String queue = channel.queueDeclare().getQueue();
        String tag = channel.basicConsume(queue, false, new DefaultConsumer(channel));

        JsonNode mine = findConnection("orders-service");
        assertThat(mine.get("user").asText()).isEqualTo("guest");
        assertThat(mine.get("vhost").asText()).isEqualTo("/");
        assertThat(mine.get("channels").asInt()).isEqualTo(1);
        String name = mine.get("name").asText();
        assertThat(get("/api/connections/" + enc(name)).get("name").asText()).isEqualTo(name);

        JsonNode channels = get("/api/connections/" + enc(name) + "/channels");
        assertThat(channels).hasSize(1);
        assertThat(channels.get(0).get("consumer_count").asInt()).isEqualTo(1);
        assertThat(channels.get(0).get("prefetch_count").asInt()).isEqualTo(7);
        assertThat(get("/api/channels"))
                .anySatisfy(ch -> assertThat(ch.get("name").asText()).isEqualTo(name + " (1)"));

        assertThat(get("/api/consumers")).anySatisfy(c -> {
            assertThat(c.get("consumer_tag").asText()).isEqualTo(tag);
            assertThat(c.get("queue").get("name").asText()).isEqualTo(queue);
            assertThat(c.get("ack_required").asBoolean()).isTrue();
        });
        assertThat(get("/api/queues/%2F/" + enc(queue)).get("consumer_details"))
                .anySatisfy(c -> assertThat(c.get("consumer_tag").asText()).isEqualTo(tag));

        CompletableFuture<ShutdownSignalException> closed = new CompletableFuture<>();
        connection.addShutdownListener(closed::complete);
        assertThat(call("DELETE", "/api/connections/" + enc(name), null).status())
                .isEqualTo(204);
        ShutdownSignalException signal = closed.get(10, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(((AMQP.Connection.Close) signal.getReason()).getReplyCode()).isEqualTo(320);
        await().until(() -> call("GET", "/api/connections/" + enc(name), null).status() == 404);
    }

    private JsonNode findConnection(String clientName) throws Exception {
        JsonNode[] found = new JsonNode[1];
        await().until(() -> {
            for (JsonNode c : get("/api/connections")) {
                if (clientName.equals(
                        c.get("client_properties").path("connection_name").asText())) {
                    found[0] = c;
                    return true;
                }
            }
            return false;
        });
        return found[0];
    }

    @Test
    void shouldMoveMessagesFromADeadLetterQueueBackToItsSource() throws Exception {
        String source = CourierBroker.unique("mgmt-src");
        String dlq = CourierBroker.unique("mgmt-dlq");
        Channel channel = broker.connect().createChannel();
        channel.queueDeclare(dlq, false, false, true, null);
        channel.queueDeclare(
                source, false, false, true, Map.of("x-dead-letter-exchange", "", "x-dead-letter-routing-key", dlq));
        for (int i = 0; i < 3; i++) {
            channel.basicPublish("", source, null, bytes("d" + i));
        }
        for (int i = 0; i < 3; i++) {
            channel.basicReject(
                    Wire.getEventually(channel, source, false).getEnvelope().getDeliveryTag(), false);
        }
        await().until(() -> channel.queueDeclarePassive(dlq).getMessageCount() == 3);

        Answer moved = call("POST", "/api/queues/%2F/" + enc(dlq) + "/move", Map.of("destination", source));
        assertThat(moved.status()).isEqualTo(200);
        assertThat(moved.json().get("moved").asInt()).isEqualTo(3);
        assertThat(text(Wire.getEventually(channel, source).getBody())).isEqualTo("d0");
        assertThat(channel.queueDeclarePassive(dlq).getMessageCount()).isZero();
        assertThat(call("POST", "/api/queues/%2F/" + enc(dlq) + "/move", Map.of())
                        .status())
                .isEqualTo(400);
        assertThat(call("POST", "/api/queues/%2F/" + enc(dlq) + "/move", Map.of("destination", "missing"))
                        .status())
                .isEqualTo(404);
    }

    @Test
    void shouldReportRatesOfPublishingAndDelivery() throws Exception {
        String queue = CourierBroker.unique("mgmt-rates");
        Channel channel = broker.connect().createChannel();
        channel.queueDeclare(queue, false, false, true, null);
        java.util.List<String> received = new CopyOnWriteArrayList<>();
        channel.basicConsume(queue, true, new DefaultConsumer(channel) {
            @Override
            public void handleDelivery(String t, Envelope e, AMQP.BasicProperties p, byte[] body) {
                received.add(text(body));
            }
        });
        String path = "/api/queues/%2F/" + enc(queue);
        await().until(() -> {
            for (int i = 0; i < 50; i++) {
                channel.basicPublish("", queue, null, bytes("r"));
            }
            JsonNode stats = get(path).get("message_stats");
            return stats.get("publish_details").get("rate").asDouble() > 0
                    && stats.get("deliver_get_details").get("rate").asDouble() > 0;
        });
        JsonNode stats = get(path).get("message_stats");
        assertThat(stats.get("deliver_no_ack").asLong()).isPositive();
        assertThat(stats.get("deliver_get").asLong())
                .isEqualTo(stats.get("deliver_no_ack").asLong());
        assertThat(get(path + "/history")).isNotEmpty();
        JsonNode overall = get("/api/overview").get("message_stats");
        assertThat(overall.get("publish").asLong()).isPositive();
        assertThat(overall.get("deliver_get").asLong()).isPositive();
    }

    @Test
    void shouldExposePrometheusMetricsPerQueue() throws Exception {
        String queue = CourierBroker.unique("mgmt-metrics");
        Channel channel = broker.connect().createChannel();
        channel.queueDeclare(queue, false, false, true, null);
        channel.confirmSelect();
        channel.basicPublish("", queue, null, bytes("m"));
        channel.waitForConfirmsOrDie(10_000);
        await().until(() -> channel.queueDeclarePassive(queue).getMessageCount() == 1);
        HttpResponse<String> metrics = http.send(
                HttpRequest.newBuilder(URI.create(base + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(metrics.statusCode()).isEqualTo(200);
        assertThat(metrics.headers().firstValue("Content-Type"))
                .hasValueSatisfying(v -> assertThat(v).startsWith("text/plain"));
        assertThat(metrics.body())
                .contains("courier_queue_messages_ready{queue=\"" + queue + "\",vhost=\"/\"} 1.0")
                .contains("courier_queue_publish_total{queue=\"" + queue + "\",vhost=\"/\"} 1.0")
                .contains("courier_connections ")
                .containsPattern("courier_channels [1-9]")
                .contains("courier_store_fsync_time_seconds_total")
                .contains("jvm_memory_used_bytes")
                .contains("courier_confirm_latency_seconds_bucket{le=\"0.001\"}")
                .containsPattern("courier_confirm_latency_seconds_count [1-9]");
        channel.queueDelete(queue);
        HttpResponse<String> after = http.send(
                HttpRequest.newBuilder(URI.create(base + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(after.body()).doesNotContain("queue=\"" + queue + "\"");
    }

    @Test
    void shouldAnswerBadRequestsWithJsonErrors() throws Exception {
        Answer notJson = call("PUT", "/api/queues/%2F/bad-json", "{not json");
        assertThat(notJson.status()).isEqualTo(400);
        assertThat(notJson.json().get("error").asText()).isEqualTo("bad_request");
        assertThat(call("GET", "/api/nothing-here", null).status()).isEqualTo(404);
        assertThat(call("POST", "/api/overview", null).status()).isEqualTo(405);
        assertThat(call("GET", "/api/queues/nowhere", null).status()).isEqualTo(404);
        Answer badArgument =
                call("PUT", "/api/queues/%2F/bad-arg", Map.of("arguments", Map.of("x-max-priority", 1000)));
        assertThat(badArgument.status()).isEqualTo(400);
        assertThat(badArgument.json().get("reason").asText()).contains("x-max-priority");
        assertThat(call("PUT", "/api/exchanges/%2F/amq.custom", Map.of("type", "direct"))
                        .status())
                .isEqualTo(403);
    }

    @Test
    void shouldSurviveGarbageOnTheHttpPortAndKeepServing() throws Exception {
        Random random = new Random(7);
        for (int i = 0; i < 20; i++) {
            try (Socket socket = new Socket("127.0.0.1", broker.server().httpPort())) {
                byte[] junk = new byte[1 + random.nextInt(4096)];
                random.nextBytes(junk);
                socket.setSoTimeout(5_000);
                try {
                    OutputStream out = socket.getOutputStream();
                    out.write(junk);
                    out.write("\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    socket.getInputStream().readAllBytes(); // an error answer, then close
                } catch (IOException e) {
                    // the broker answered 400 and closed before we finished writing: fine
                }
            }
        }
        assertThat(get("/api/overview").get("node").asText()).isNotEmpty();
    }
}
