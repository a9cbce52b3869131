package dev.courier.wire;

import static dev.courier.wire.Wire.bytes;
import static dev.courier.wire.Wire.replyCode;
import static dev.courier.wire.Wire.replyText;
import static dev.courier.wire.Wire.text;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.MessageProperties;
import com.rabbitmq.client.ShutdownSignalException;
import dev.courier.server.CourierServer;
import java.io.IOException;
import java.net.http.HttpClient;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Virtual hosts: created and deleted through the API, isolated from each other, durable across restarts. */
class VhostsTest {
    static {
        LeakTracker.install();
    }

    @TempDir
    Path dataDir;

    private RestartableServer broker;
    private CourierServer server;
    private final HttpClient http = HttpClient.newHttpClient();

    @AfterEach
    void stop() {
        broker.close();
    }

    private void start() throws Exception {
        broker = new RestartableServer(dataDir);
        server = broker.start();
    }

    private void restart() throws Exception {
        server = broker.restart();
    }

    private Connection connect(String vhost, String user, String password) throws Exception {
        return broker.connect(vhost, user, password);
    }

    private int admin(String method, String path, Object body) throws Exception {
        return Wire.guestApiCall(http, server.httpPort(), method, path, body);
    }

    private static void publishConfirmed(Channel channel, String queue, String body) throws Exception {
        channel.confirmSelect();
        channel.basicPublish("", queue, MessageProperties.PERSISTENT_BASIC, bytes(body));
        channel.waitForConfirmsOrDie(10_000);
    }

    @Test
    void shouldIsolateTenantsAndKeepTheirDefinitionsAcrossARestart() throws Exception {
        start();
        assertThat(admin("PUT", "/api/vhosts/tenant-a", Map.of())).isEqualTo(201);
        assertThat(admin("PUT", "/api/vhosts/tenant-a", Map.of())).isEqualTo(204);
        assertThat(admin("PUT", "/api/users/alice", Map.of("password", "pw", "tags", "")))
                .isEqualTo(201);
        assertThat(admin(
                        "PUT",
                        "/api/permissions/tenant-a/alice",
                        Map.of("configure", ".*", "write", ".*", "read", ".*")))
                .isEqualTo(201);

        Channel tenant = connect("tenant-a", "alice", "pw").createChannel();
        tenant.queueDeclare("orders", true, false, false, null);
        tenant.exchangeDeclare("events", "fanout", true);
        tenant.queueBind("orders", "events", "");
        tenant.confirmSelect();
        tenant.basicPublish("events", "", MessageProperties.PERSISTENT_BASIC, bytes("tenant order"));
        tenant.waitForConfirmsOrDie(10_000);
        Channel root = connect("/", "guest", "guest").createChannel();
        root.queueDeclare("orders", true, false, false, null); // same name, another vhost
        publishConfirmed(root, "orders", "root order");

        assertThatThrownBy(() -> connect("/", "alice", "pw"))
                .as("alice has no permissions on /")
                .isInstanceOf(IOException.class);

        restart();

        Channel tenantAgain = connect("tenant-a", "alice", "pw").createChannel();
        assertThat(text(Wire.getEventually(tenantAgain, "orders").getBody())).isEqualTo("tenant order");
        tenantAgain.exchangeDeclarePassive("events");
        tenantAgain.basicPublish("events", "", null, bytes("after restart"));
        assertThat(text(Wire.getEventually(tenantAgain, "orders").getBody())).isEqualTo("after restart");
        Channel rootAgain = connect("/", "guest", "guest").createChannel();
        assertThat(text(Wire.getEventually(rootAgain, "orders").getBody())).isEqualTo("root order");
        assertThat(rootAgain.queueDeclarePassive("orders").getMessageCount()).isZero();
    }

    @Test
    void shouldDeleteAVhostWithEverythingInItAndCloseItsConnections() throws Exception {
        start();
        assertThat(admin("PUT", "/api/vhosts/doomed", Map.of())).isEqualTo(201);
        Connection connection = connect("doomed", "guest", "guest"); // the creator got permissions
        Channel channel = connection.createChannel();
        channel.queueDeclare("work", true, false, false, null);
        publishConfirmed(channel, "work", "lost with the vhost");
        CompletableFuture<ShutdownSignalException> closed = new CompletableFuture<>();
        connection.addShutdownListener(closed::complete);

        assertThat(admin("DELETE", "/api/vhosts/doomed", null)).isEqualTo(204);
        ShutdownSignalException signal = closed.get(10, TimeUnit.SECONDS);
        assertThat(((AMQP.Connection.Close) signal.getReason()).getReplyCode()).isEqualTo(320);
        assertThatThrownBy(() -> connect("doomed", "guest", "guest"))
                .isInstanceOf(IOException.class)
                .satisfies(e -> {
                    ShutdownSignalException refused = (ShutdownSignalException) e.getCause();
                    assertThat(replyCode(refused)).isEqualTo(530);
                    assertThat(replyText(refused)).contains("doomed");
                });
        assertThat(admin("GET", "/api/vhosts/doomed", null)).isEqualTo(404);

        restart();
        assertThat(admin("GET", "/api/vhosts/doomed", null))
                .as("gone after a restart too")
                .isEqualTo(404);
        assertThat(admin("PUT", "/api/vhosts/doomed", Map.of())).isEqualTo(201);
        Channel fresh = connect("doomed", "guest", "guest").createChannel();
        assertThatThrownBy(() -> fresh.queueDeclarePassive("work"))
                .as("a recreated vhost starts empty")
                .isInstanceOf(IOException.class);
    }
}
