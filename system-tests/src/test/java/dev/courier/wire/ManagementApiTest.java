package dev.courier.wire;

import static dev.courier.wire.Wire.await;
import static dev.courier.wire.Wire.bytes;
import static dev.courier.wire.Wire.text;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.AuthenticationFailureException;
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
        assertThat(get("/api/users")).extracting(u -> u.get("name").asText()).contains("guest");
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

    // ---------------------------------------------------------------- users and permissions

    /** A new user with a password and tags, through the API. */
    private void putUser(String name, String password, String tags) throws Exception {
        assertThat(call("PUT", "/api/users/" + enc(name), Map.of("password", password, "tags", tags))
                        .status())
                .isEqualTo(201);
    }

    private void putPermissions(String vhost, String user, String configure, String write, String read)
            throws Exception {
        assertThat(call(
                                "PUT",
                                "/api/permissions/" + enc(vhost) + "/" + enc(user),
                                Map.of("configure", configure, "write", write, "read", read))
                        .status())
                .isIn(201, 204);
    }

    /** A vhost created by guest (who gets full permissions on it, as in RabbitMQ). */
    private String newVhost(String prefix) throws Exception {
        String vhost = CourierBroker.unique(prefix);
        assertThat(call("PUT", "/api/vhosts/" + enc(vhost), Map.of()).status()).isEqualTo(201);
        return vhost;
    }

    private Connection amqp(String user, String password, String vhost, String clientName) throws Exception {
        com.rabbitmq.client.ConnectionFactory factory = broker.factory();
        factory.setUsername(user);
        factory.setPassword(password);
        factory.setVirtualHost(vhost);
        return broker.track(factory.newConnection(clientName));
    }

    private static void assertNotAuthorised(Answer answer, String reason) {
        assertThat(answer.status()).as(answer.raw().body()).isEqualTo(401);
        assertThat(answer.json().get("error").asText()).isEqualTo("not_authorised");
        assertThat(answer.json().get("reason").asText()).isEqualTo(reason);
    }

    @Test
    void shouldGrantListAndRevokePermissions() throws Exception {
        String user = CourierBroker.unique("perm-user");
        String vhost = newVhost("perm-vhost");
        putUser(user, "pw", "");
        putPermissions(vhost, user, "^c$", "^w$", "^r$");

        JsonNode all = get("/api/permissions");
        assertThat(all).anySatisfy(p -> {
            assertThat(p.get("user").asText()).isEqualTo(user);
            assertThat(p.get("vhost").asText()).isEqualTo(vhost);
            assertThat(p.get("configure").asText()).isEqualTo("^c$");
            assertThat(p.get("write").asText()).isEqualTo("^w$");
            assertThat(p.get("read").asText()).isEqualTo("^r$");
        });
        assertThat(all).anySatisfy(p -> assertThat(p.get("user").asText()).isEqualTo("guest"));
        JsonNode inVhost = get("/api/permissions/" + enc(vhost));
        assertThat(inVhost).allSatisfy(p -> assertThat(p.get("vhost").asText()).isEqualTo(vhost));
        assertThat(inVhost)
                .extracting(p -> p.get("user").asText())
                .containsExactlyInAnyOrder("guest", user); // guest created the vhost
        JsonNode ofUser = get("/api/users/" + enc(user) + "/permissions");
        assertThat(ofUser).hasSize(1);
        assertThat(ofUser.get(0).get("vhost").asText()).isEqualTo(vhost);
        assertThat(ofUser.get(0).get("read").asText()).isEqualTo("^r$");
        amqp(user, "pw", vhost, "perm-before").close();

        String path = "/api/permissions/" + enc(vhost) + "/" + enc(user);
        assertThat(call("DELETE", path, null).status()).isEqualTo(204);
        assertThat(call("GET", path, null).status()).isEqualTo(404);
        assertThat(call("DELETE", path, null).status()).as("already gone").isEqualTo(404);
        assertThat(get("/api/users/" + enc(user) + "/permissions")).isEmpty();
        assertThat(get("/api/permissions/" + enc(vhost)))
                .noneSatisfy(p -> assertThat(p.get("user").asText()).isEqualTo(user));
        assertThat(call("GET", "/api/permissions/no-such-vhost", null).status()).isEqualTo(404);
        assertThat(call("GET", "/api/users/no-such-user/permissions", null).status())
                .isEqualTo(404);
        assertThatThrownBy(() -> amqp(user, "pw", vhost, "perm-after"))
                .as("no permissions on the vhost any more")
                .isInstanceOf(IOException.class);
    }

    @Test
    void shouldRetagAUserKeepingItsPasswordAndDisablePasswordLoginWithAnEmptyHash() throws Exception {
        String user = CourierBroker.unique("retag");
        putUser(user, "first-password", "");
        putPermissions("/", user, ".*", ".*", ".*");
        assertThat(call("GET", "/api/whoami", null, user, "first-password").status())
                .as("no management tag yet")
                .isEqualTo(401);

        Answer retagged = call("PUT", "/api/users/" + enc(user), Map.of("tags", "monitoring"));
        assertThat(retagged.status()).isEqualTo(204);
        assertThat(get("/api/users/" + enc(user)).get("tags").toString()).contains("monitoring");
        Answer whoami = call("GET", "/api/whoami", null, user, "first-password");
        assertThat(whoami.status()).as("the old password still works").isEqualTo(200);
        assertThat(whoami.json().get("name").asText()).isEqualTo(user);
        amqp(user, "first-password", "/", "retag-amqp").close();

        Answer cleared = call("PUT", "/api/users/" + enc(user), Map.of("password_hash", "", "tags", "monitoring"));
        assertThat(cleared.status()).isEqualTo(204);
        assertThat(get("/api/users/" + enc(user)).get("tags").toString()).contains("monitoring");
        assertThat(call("GET", "/api/whoami", null, user, "first-password").status())
                .isEqualTo(401);
        assertThatThrownBy(() -> amqp(user, "first-password", "/", "retag-cleared"))
                .isInstanceOf(AuthenticationFailureException.class);
        assertThatThrownBy(() -> amqp(user, "", "/", "retag-empty"))
                .as("an empty password is no way in either")
                .isInstanceOf(AuthenticationFailureException.class);

        String noPassword = CourierBroker.unique("no-password");
        assertThat(call("PUT", "/api/users/" + enc(noPassword), Map.of("password_hash", "", "tags", ""))
                        .status())
                .isEqualTo(201);
        assertThat(get("/api/users/" + enc(noPassword)).get("name").asText()).isEqualTo(noPassword);
        assertThat(call("PUT", "/api/users/" + enc(CourierBroker.unique("nothing")), Map.of("tags", ""))
                        .status())
                .as("a new user needs a password or an empty hash")
                .isEqualTo(400);
        assertThat(call("DELETE", "/api/users/" + enc(user), null).status()).isEqualTo(204);
        assertThat(call("DELETE", "/api/users/" + enc(noPassword), null).status())
                .isEqualTo(204);
    }

    // ---------------------------------------------------------------- bindings, channels, consumers

    @Test
    void shouldListBindingsPerVhostQueueAndExchange() throws Exception {
        String source = CourierBroker.unique("bind-src");
        String middle = CourierBroker.unique("bind-mid");
        String queue = CourierBroker.unique("bind-q");
        Channel channel = broker.connect().createChannel();
        channel.exchangeDeclare(source, "topic", false, true, null);
        channel.exchangeDeclare(middle, "fanout", false, true, null);
        channel.queueDeclare(queue, false, false, true, null);
        channel.exchangeBind(middle, source, "orders.*");
        channel.queueBind(queue, middle, "");
        channel.queueBind(queue, source, "audit.#", Map.of("x-note", "kept"));

        for (String path : new String[] {"/api/bindings", "/api/bindings/%2F"}) {
            JsonNode all = get(path);
            assertThat(all).as(path).anySatisfy(b -> {
                assertThat(b.get("source").asText()).isEqualTo(source);
                assertThat(b.get("vhost").asText()).isEqualTo("/");
                assertThat(b.get("destination").asText()).isEqualTo(middle);
                assertThat(b.get("destination_type").asText()).isEqualTo("exchange");
                assertThat(b.get("routing_key").asText()).isEqualTo("orders.*");
                assertThat(b.get("arguments").isObject()).isTrue();
                assertThat(b.get("properties_key").asText()).isEqualTo("orders.*");
            });
            assertThat(all).as(path).anySatisfy(b -> {
                assertThat(b.get("source").asText()).isEqualTo(""); // the default exchange's implicit binding
                assertThat(b.get("destination").asText()).isEqualTo(queue);
                assertThat(b.get("routing_key").asText()).isEqualTo(queue);
            });
        }
        assertThat(call("GET", "/api/bindings/no-such-vhost", null).status()).isEqualTo(404);

        JsonNode ofQueue = get("/api/queues/%2F/" + enc(queue) + "/bindings");
        assertThat(ofQueue)
                .extracting(b ->
                        b.get("source").asText() + "/" + b.get("routing_key").asText())
                .containsExactlyInAnyOrder("/" + queue, middle + "/", source + "/audit.#");
        assertThat(ofQueue).allSatisfy(b -> {
            assertThat(b.get("destination").asText()).isEqualTo(queue);
            assertThat(b.get("destination_type").asText()).isEqualTo("queue");
        });
        JsonNode withArguments = null;
        for (JsonNode b : ofQueue) {
            if (b.get("routing_key").asText().equals("audit.#")) {
                withArguments = b;
            }
        }
        assertThat(withArguments).isNotNull();
        assertThat(withArguments.get("arguments").get("x-note").asText()).isEqualTo("kept");
        assertThat(withArguments.get("properties_key").asText()).startsWith("audit.#~");

        JsonNode fromSource = get("/api/exchanges/%2F/" + enc(source) + "/bindings/source");
        assertThat(fromSource)
                .extracting(b -> b.get("destination_type").asText() + ":"
                        + b.get("destination").asText())
                .containsExactlyInAnyOrder("exchange:" + middle, "queue:" + queue);
        assertThat(get("/api/exchanges/%2F/" + enc(source) + "/bindings/destination"))
                .isEmpty();
        JsonNode toMiddle = get("/api/exchanges/%2F/" + enc(middle) + "/bindings/destination");
        assertThat(toMiddle).hasSize(1);
        assertThat(toMiddle.get(0).get("source").asText()).isEqualTo(source);
        assertThat(toMiddle.get(0).get("routing_key").asText()).isEqualTo("orders.*");
        JsonNode fromMiddle = get("/api/exchanges/%2F/" + enc(middle) + "/bindings/source");
        assertThat(fromMiddle).hasSize(1);
        assertThat(fromMiddle.get(0).get("destination").asText()).isEqualTo(queue);
        assertThat(call("GET", "/api/exchanges/%2F/no-such-exchange/bindings/source", null)
                        .status())
                .isEqualTo(404);
        assertThat(call("GET", "/api/queues/%2F/no-such-queue/bindings", null).status())
                .isEqualTo(404);
    }

    @Test
    void shouldListTheChannelsOfAConnectionAndTheConsumersOfAVhost() throws Exception {
        String vhost = newVhost("consumers-vhost");
        Connection connection = broker.track(broker.factory().newConnection("channels-service"));
        Channel first = connection.createChannel();
        Channel second = connection.createChannel();
        second.confirmSelect();
        second.basicQos(3);
        String queue = first.queueDeclare().getQueue();
        String tag = second.basicConsume(queue, false, new DefaultConsumer(second));
        Connection elsewhere = amqp("guest", "guest", vhost, "consumers-elsewhere");
        Channel other = elsewhere.createChannel();
        String otherQueue = other.queueDeclare().getQueue();
        String otherTag = other.basicConsume(otherQueue, true, new DefaultConsumer(other));

        String name = findConnection("channels-service").get("name").asText();
        await().until(() -> get("/api/connections/" + enc(name) + "/channels").size() == 2);
        JsonNode channels = get("/api/connections/" + enc(name) + "/channels");
        assertThat(channels).extracting(ch -> ch.get("number").asInt()).containsExactlyInAnyOrder(1, 2);
        JsonNode consuming = null;
        for (JsonNode ch : channels) {
            assertThat(ch.get("name").asText())
                    .isEqualTo(name + " (" + ch.get("number").asInt() + ")");
            assertThat(ch.get("user").asText()).isEqualTo("guest");
            assertThat(ch.get("vhost").asText()).isEqualTo("/");
            assertThat(ch.get("connection_details").get("name").asText()).isEqualTo(name);
            assertThat(ch.has("node")).isTrue();
            assertThat(ch.has("state")).isTrue();
            if (ch.get("number").asInt() == 2) {
                consuming = ch;
            }
        }
        assertThat(consuming).isNotNull();
        assertThat(consuming.get("consumer_count").asInt()).isEqualTo(1);
        assertThat(consuming.get("prefetch_count").asInt()).isEqualTo(3);
        assertThat(consuming.get("confirm").asBoolean()).isTrue();
        assertThat(consuming.get("messages_unacknowledged").asInt()).isZero();
        JsonNode single = get("/api/channels/" + enc(name + " (2)"));
        assertThat(single.get("number").asInt()).isEqualTo(2);
        assertThat(single.get("connection_details").get("name").asText()).isEqualTo(name);
        assertThat(call("GET", "/api/channels/" + enc(name + " (9)"), null).status())
                .isEqualTo(404);
        assertThat(call("GET", "/api/connections/no-such-connection/channels", null)
                        .status())
                .isEqualTo(404);

        JsonNode inRoot = get("/api/consumers/%2F");
        assertThat(inRoot).anySatisfy(c -> {
            assertThat(c.get("consumer_tag").asText()).isEqualTo(tag);
            assertThat(c.get("queue").get("name").asText()).isEqualTo(queue);
            assertThat(c.get("queue").get("vhost").asText()).isEqualTo("/");
            assertThat(c.get("ack_required").asBoolean()).isTrue();
            assertThat(c.get("prefetch_count").asInt()).isEqualTo(3);
            assertThat(c.get("active").asBoolean()).isTrue();
            assertThat(c.get("channel_details").get("connection_name").asText()).isEqualTo(name);
            assertThat(c.get("channel_details").get("number").asInt()).isEqualTo(2);
            assertThat(c.get("channel_details").get("user").asText()).isEqualTo("guest");
        });
        assertThat(inRoot)
                .noneSatisfy(c -> assertThat(c.get("consumer_tag").asText()).isEqualTo(otherTag));
        JsonNode inOther = get("/api/consumers/" + enc(vhost));
        assertThat(inOther).hasSize(1);
        assertThat(inOther.get(0).get("consumer_tag").asText()).isEqualTo(otherTag);
        assertThat(inOther.get(0).get("ack_required").asBoolean()).isFalse();
        assertThat(inOther.get(0).get("queue").get("vhost").asText()).isEqualTo(vhost);
        assertThat(call("GET", "/api/consumers/no-such-vhost", null).status()).isEqualTo(404);
        elsewhere.close();
        assertThat(call("DELETE", "/api/vhosts/" + enc(vhost), null).status()).isEqualTo(204);
    }

    // ---------------------------------------------------------------- authorization

    /** Objects in two vhosts; {@code user} (if any) gets permissions in the first only. */
    private record TwoVhosts(String mine, String theirs, String myQueue, String theirQueue, String theirExchange) {}

    private TwoVhosts twoVhosts(String user) throws Exception {
        String mine = newVhost("mine");
        String theirs = newVhost("theirs");
        if (user != null) {
            putPermissions(mine, user, ".*", ".*", ".*");
        }
        String myQueue = CourierBroker.unique("my-q");
        String theirQueue = CourierBroker.unique("their-q");
        String theirExchange = CourierBroker.unique("their-x");
        assertThat(call("PUT", "/api/queues/" + enc(mine) + "/" + enc(myQueue), Map.of("durable", false))
                        .status())
                .isEqualTo(201);
        assertThat(call("PUT", "/api/queues/" + enc(theirs) + "/" + enc(theirQueue), Map.of("durable", false))
                        .status())
                .isEqualTo(201);
        assertThat(call(
                                "PUT",
                                "/api/exchanges/" + enc(theirs) + "/" + enc(theirExchange),
                                Map.of("type", "direct", "durable", false))
                        .status())
                .isEqualTo(201);
        return new TwoVhosts(mine, theirs, myQueue, theirQueue, theirExchange);
    }

    private void deleteVhosts(TwoVhosts vhosts) throws Exception {
        call("DELETE", "/api/vhosts/" + enc(vhosts.mine()), null);
        call("DELETE", "/api/vhosts/" + enc(vhosts.theirs()), null);
    }

    /**
     * An operation through the API needs the permission its AMQP method needs: a management user
     * allowed only on app.* resources cannot declare, delete, publish to, read, purge, move out of
     * or bind anything else through HTTP either.
     */
    @Test
    void shouldApplyConfigureWriteAndReadPermissionsToOperationsThroughTheApi() throws Exception {
        String user = CourierBroker.unique("app-op");
        putUser(user, "op", "management");
        putPermissions("/", user, "^app\\..*", "^app\\..*", "^app\\..*");
        String other = CourierBroker.unique("other");
        String otherExchange = CourierBroker.unique("other-x");
        assertThat(call("PUT", "/api/queues/%2F/" + enc(other), Map.of("durable", false))
                        .status())
                .isEqualTo(201);
        assertThat(call("PUT", "/api/exchanges/%2F/" + enc(otherExchange), Map.of("type", "direct"))
                        .status())
                .isEqualTo(201);
        String mine = CourierBroker.unique("app.q");
        String myExchange = CourierBroker.unique("app.x");
        assertThat(call("PUT", "/api/queues/%2F/" + enc(mine), Map.of("durable", false), user, "op")
                        .status())
                .isEqualTo(201);
        assertThat(call("PUT", "/api/exchanges/%2F/" + enc(myExchange), Map.of("type", "direct"), user, "op")
                        .status())
                .isEqualTo(201);
        assertThat(call("POST", "/api/bindings/%2F/e/" + enc(myExchange) + "/q/" + enc(mine), Map.of(), user, "op")
                        .status())
                .isEqualTo(201);

        String refused = "' in vhost '/' refused for user '" + user + "'";
        Map<String, Object> message =
                Map.of("routing_key", other, "payload", "hi", "payload_encoding", "string", "properties", Map.of());
        Map<String, Object> get = Map.of("count", 1, "ackmode", "ack_requeue_true", "encoding", "auto");
        assertNotAuthorised(
                call("PUT", "/api/queues/%2F/" + enc(other), Map.of("durable", false), user, "op"),
                "configure access to queue '" + other + refused);
        assertNotAuthorised(
                call("DELETE", "/api/queues/%2F/" + enc(other), null, user, "op"),
                "configure access to queue '" + other + refused);
        assertNotAuthorised(
                call("DELETE", "/api/exchanges/%2F/" + enc(otherExchange), null, user, "op"),
                "configure access to exchange '" + otherExchange + refused);
        assertNotAuthorised(
                call("POST", "/api/exchanges/%2F/amq.default/publish", message, user, "op"),
                "write access to exchange 'amq.default" + refused);
        assertNotAuthorised(
                call("POST", "/api/queues/%2F/" + enc(other) + "/get", get, user, "op"),
                "read access to queue '" + other + refused);
        assertNotAuthorised(
                call("DELETE", "/api/queues/%2F/" + enc(other) + "/contents", null, user, "op"),
                "read access to queue '" + other + refused);
        assertNotAuthorised(
                call("POST", "/api/bindings/%2F/e/" + enc(myExchange) + "/q/" + enc(other), Map.of(), user, "op"),
                "write access to queue '" + other + refused);
        assertNotAuthorised(
                call("POST", "/api/bindings/%2F/e/" + enc(otherExchange) + "/q/" + enc(mine), Map.of(), user, "op"),
                "read access to exchange '" + otherExchange + refused);
        assertThat(call("GET", "/api/queues/%2F/" + enc(other), null).status())
                .as("still there")
                .isEqualTo(200);
    }

    @Test
    void shouldShowAManagementUserOnlyItsOwnVhostsAndConnections() throws Exception {
        String user = CourierBroker.unique("operator");
        putUser(user, "op", "management");
        TwoVhosts v = twoVhosts(user);
        Channel theirChannel = amqp("guest", "guest", v.theirs(), "their-app").createChannel();
        theirChannel.basicConsume(v.theirQueue(), true, new DefaultConsumer(theirChannel));
        amqp(user, "op", v.mine(), "my-app").createChannel();
        String theirConnection = findConnection("their-app").get("name").asText();
        String myConnection = findConnection("my-app").get("name").asText();

        // lists: only what is in "mine", only its own connections and channels
        Answer queues = call("GET", "/api/queues", null, user, "op");
        assertThat(queues.json()).extracting(q -> q.get("name").asText()).contains(v.myQueue());
        assertThat(queues.json())
                .allSatisfy(q -> assertThat(q.get("vhost").asText()).isEqualTo(v.mine()));
        assertThat(call("GET", "/api/exchanges", null, user, "op").json())
                .allSatisfy(x -> assertThat(x.get("vhost").asText()).isEqualTo(v.mine()));
        assertThat(call("GET", "/api/bindings", null, user, "op").json())
                .isNotEmpty()
                .allSatisfy(b -> assertThat(b.get("vhost").asText()).isEqualTo(v.mine()));
        assertThat(call("GET", "/api/vhosts", null, user, "op").json())
                .extracting(x -> x.get("name").asText())
                .containsExactly(v.mine());
        assertThat(call("GET", "/api/consumers", null, user, "op").json()).isEmpty();
        assertThat(call("GET", "/api/connections", null, user, "op").json())
                .extracting(c -> c.get("name").asText())
                .containsExactly(myConnection);
        assertThat(call("GET", "/api/channels", null, user, "op").json())
                .allSatisfy(ch -> assertThat(ch.get("user").asText()).isEqualTo(user))
                .hasSize(1);

        // single objects of the other vhost, or of another user, by name
        String theirs = enc(v.theirs());
        for (String path : new String[] {
            "/api/vhosts/" + theirs,
            "/api/queues/" + theirs,
            "/api/queues/" + theirs + "/" + enc(v.theirQueue()),
            "/api/queues/" + theirs + "/" + enc(v.theirQueue()) + "/bindings",
            "/api/exchanges/" + theirs,
            "/api/exchanges/" + theirs + "/" + enc(v.theirExchange()),
            "/api/exchanges/" + theirs + "/" + enc(v.theirExchange()) + "/bindings/source",
            "/api/bindings/" + theirs,
            "/api/consumers/" + theirs
        }) {
            assertNotAuthorised(call("GET", path, null, user, "op"), "User not authorised to access virtual host");
        }
        for (String path : new String[] {
            "/api/connections/" + enc(theirConnection),
            "/api/connections/" + enc(theirConnection) + "/channels",
            "/api/channels/" + enc(theirConnection + " (1)")
        }) {
            assertNotAuthorised(call("GET", path, null, user, "op"), "User not authorised to access object");
        }
        assertNotAuthorised(call("GET", "/api/nodes", null, user, "op"), "Not monitor user");
        assertNotAuthorised(call("GET", "/api/permissions", null, user, "op"), "Not administrator user");
        Answer drain = call(
                "POST",
                "/api/queues/" + theirs + "/" + enc(v.theirQueue()) + "/get",
                Map.of("count", 1, "ackmode", "ack_requeue_false", "encoding", "auto"),
                user,
                "op");
        assertNotAuthorised(drain, "User not authorised to access virtual host");
        assertThat(call("GET", "/api/queues/no-such-vhost/q", null, user, "op").status())
                .as("an unknown vhost is not found, as in RabbitMQ")
                .isEqualTo(404);

        // what is its own it may read
        assertThat(call("GET", "/api/queues/" + enc(v.mine()) + "/" + enc(v.myQueue()), null, user, "op")
                        .status())
                .isEqualTo(200);
        assertThat(call("GET", "/api/connections/" + enc(myConnection), null, user, "op")
                        .status())
                .isEqualTo(200);
        assertThat(call("GET", "/api/connections/" + enc(myConnection) + "/channels", null, user, "op")
                        .json())
                .hasSize(1);
        deleteVhosts(v);
    }

    @Test
    void shouldRefuseChangesToUsersVhostsPermissionsAndOtherUsersConnectionsToNonAdministrators() throws Exception {
        String operator = CourierBroker.unique("operator");
        String watcher = CourierBroker.unique("watcher");
        putUser(operator, "op", "management");
        putUser(watcher, "w", "monitoring");
        TwoVhosts v = twoVhosts(operator);
        putPermissions(v.mine(), watcher, ".*", ".*", ".*");
        Connection guests = amqp("guest", "guest", v.mine(), "guest-app");
        String guestConnection = findConnection("guest-app").get("name").asText();

        for (String[] who : new String[][] {{operator, "op"}, {watcher, "w"}}) {
            String user = who[0];
            String password = who[1];
            assertNotAuthorised(
                    call("DELETE", "/api/connections/" + enc(guestConnection), null, user, password),
                    "User not authorised to access object");
            assertNotAuthorised(
                    call("PUT", "/api/vhosts/" + enc(CourierBroker.unique("new")), Map.of(), user, password),
                    "Not administrator user");
            assertNotAuthorised(
                    call("DELETE", "/api/vhosts/" + enc(v.mine()), null, user, password), "Not administrator user");
            assertNotAuthorised(
                    call(
                            "PUT",
                            "/api/users/" + enc(CourierBroker.unique("new")),
                            Map.of("password", "x", "tags", "administrator"),
                            user,
                            password),
                    "Not administrator user");
            assertNotAuthorised(
                    call("PUT", "/api/users/" + enc(user), Map.of("tags", "administrator"), user, password),
                    "Not administrator user");
            assertNotAuthorised(call("DELETE", "/api/users/guest", null, user, password), "Not administrator user");
            assertNotAuthorised(
                    call(
                            "PUT",
                            "/api/permissions/" + enc(v.theirs()) + "/" + enc(user),
                            Map.of("configure", ".*", "write", ".*", "read", ".*"),
                            user,
                            password),
                    "Not administrator user");
            assertNotAuthorised(
                    call("DELETE", "/api/permissions/" + enc(v.mine()) + "/" + enc(user), null, user, password),
                    "Not administrator user");
            assertNotAuthorised(
                    call("GET", "/api/users/" + enc(user) + "/permissions", null, user, password),
                    "Not administrator user");
        }
        assertThat(guests.isOpen()).isTrue();
        assertThat(get("/api/vhosts/" + enc(v.mine())).get("name").asText()).isEqualTo(v.mine());
        assertThat(get("/api/permissions/" + enc(v.mine()) + "/" + enc(operator))
                        .get("configure")
                        .asText())
                .isEqualTo(".*");

        // as in RabbitMQ, users may close their own connections
        amqp(operator, "op", v.mine(), "operator-app");
        String own = findConnection("operator-app").get("name").asText();
        assertThat(call("DELETE", "/api/connections/" + enc(own), null, operator, "op")
                        .status())
                .isEqualTo(204);
        await().until(() -> call("GET", "/api/connections/" + enc(own), null).status() == 404);
        guests.close();
        deleteVhosts(v);
    }

    @Test
    void shouldLetAMonitoringUserReadEveryVhostButChangeNothing() throws Exception {
        String watcher = CourierBroker.unique("watcher");
        putUser(watcher, "w", "monitoring");
        TwoVhosts v = twoVhosts(null);
        Channel theirChannel = amqp("guest", "guest", v.theirs(), "watched-app").createChannel();
        theirChannel.basicConsume(v.theirQueue(), true, new DefaultConsumer(theirChannel));
        String connection = findConnection("watched-app").get("name").asText();

        assertThat(call("GET", "/api/connections", null, watcher, "w").json())
                .anySatisfy(c -> assertThat(c.get("name").asText()).isEqualTo(connection));
        assertThat(call("GET", "/api/connections/" + enc(connection), null, watcher, "w")
                        .json()
                        .get("vhost")
                        .asText())
                .isEqualTo(v.theirs());
        assertThat(call("GET", "/api/connections/" + enc(connection) + "/channels", null, watcher, "w")
                        .json())
                .hasSize(1);
        assertThat(call("GET", "/api/channels", null, watcher, "w").json())
                .anySatisfy(ch -> assertThat(ch.get("vhost").asText()).isEqualTo(v.theirs()));
        assertThat(call("GET", "/api/channels/" + enc(connection + " (1)"), null, watcher, "w")
                        .status())
                .isEqualTo(200);
        assertThat(call("GET", "/api/consumers/" + enc(v.theirs()), null, watcher, "w")
                        .json())
                .hasSize(1);
        assertThat(call("GET", "/api/queues/" + enc(v.theirs()) + "/" + enc(v.theirQueue()), null, watcher, "w")
                        .status())
                .isEqualTo(200);
        assertThat(call("GET", "/api/vhosts", null, watcher, "w").json())
                .extracting(x -> x.get("name").asText())
                .contains(v.mine(), v.theirs());
        assertThat(call("GET", "/api/nodes", null, watcher, "w").status()).isEqualTo(200);

        String theirs = enc(v.theirs());
        assertNotAuthorised(
                call("PUT", "/api/queues/" + theirs + "/" + enc("w-q"), Map.of("durable", false), watcher, "w"),
                "User not authorised to access virtual host");
        assertNotAuthorised(
                call("DELETE", "/api/queues/" + theirs + "/" + enc(v.theirQueue()), null, watcher, "w"),
                "User not authorised to access virtual host");
        assertNotAuthorised(
                call("DELETE", "/api/queues/" + theirs + "/" + enc(v.theirQueue()) + "/contents", null, watcher, "w"),
                "User not authorised to access virtual host");
        assertNotAuthorised(
                call(
                        "POST",
                        "/api/exchanges/" + theirs + "/" + enc(v.theirExchange()) + "/publish",
                        Map.of(
                                "routing_key",
                                "k",
                                "payload",
                                "x",
                                "payload_encoding",
                                "string",
                                "properties",
                                Map.of()),
                        watcher,
                        "w"),
                "User not authorised to access virtual host");
        assertNotAuthorised(
                call("DELETE", "/api/connections/" + enc(connection), null, watcher, "w"),
                "User not authorised to access object");
        assertThat(theirChannel.isOpen()).isTrue();
        deleteVhosts(v);
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
