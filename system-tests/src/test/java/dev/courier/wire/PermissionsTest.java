package dev.courier.wire;

import static dev.courier.wire.Wire.bytes;
import static dev.courier.wire.Wire.closedBy;
import static dev.courier.wire.Wire.replyCode;
import static dev.courier.wire.Wire.replyText;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.rabbitmq.client.AuthenticationFailureException;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.DefaultConsumer;
import com.rabbitmq.client.ShutdownSignalException;
import dev.courier.server.CourierServer;
import dev.courier.server.ServerConfig;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Users and RabbitMQ's configure/write/read permissions, enforced on every AMQP operation and on
 * the management API, kept across restarts with hashed passwords.
 */
class PermissionsTest {
    static {
        LeakTracker.install();
    }

    private static final String APP_PASSWORD = "s3cret-app-password";

    @TempDir
    Path dataDir;

    private RestartableServer broker;
    private CourierServer server;
    private final HttpClient http = HttpClient.newHttpClient();

    @AfterEach
    void stop() {
        if (broker != null) {
            broker.close();
        }
    }

    private void start() throws Exception {
        start(UnaryOperator.identity());
    }

    private void start(UnaryOperator<ServerConfig> settings) throws Exception {
        broker = new RestartableServer(dataDir, System::currentTimeMillis, settings);
        server = broker.start();
    }

    private void restart() throws Exception {
        server = broker.restart();
    }

    private Connection connect(String user, String password) throws Exception {
        return broker.connect(user, password);
    }

    private int api(String method, String path, Object body, String user, String password) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.httpPort() + path))
                .header(
                        "Authorization",
                        "Basic "
                                + Base64.getEncoder()
                                        .encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8)))
                .method(
                        method,
                        body == null
                                ? HttpRequest.BodyPublishers.noBody()
                                : HttpRequest.BodyPublishers.ofString(new ObjectMapper().writeValueAsString(body)));
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString()).statusCode();
    }

    private int admin(String method, String path, Object body) throws Exception {
        return api(method, path, body, "guest", "guest");
    }

    /** A user "app" that may configure, write and read only resources named app.*. */
    private void createAppUser(String tags) throws Exception {
        assertThat(admin("PUT", "/api/users/app", Map.of("password", APP_PASSWORD, "tags", tags)))
                .isEqualTo(201);
        assertThat(admin(
                        "PUT",
                        "/api/permissions/%2F/app",
                        Map.of("configure", "^app\\..*", "write", "^app\\..*", "read", "^app\\..*")))
                .isEqualTo(201);
    }

    private static void assertRefused(ShutdownSignalException e, String text) {
        assertThat(replyCode(e)).isEqualTo(403);
        assertThat(replyText(e)).startsWith("ACCESS_REFUSED").contains(text);
    }

    @Test
    void shouldEnforceConfigureWriteAndReadPermissionsOnEveryOperation() throws Exception {
        start();
        createAppUser("");
        Channel admin = connect("guest", "guest").createChannel();
        admin.queueDeclare("other.q", false, false, false, null);
        admin.exchangeDeclare("other.x", "fanout");

        Connection app = connect("app", APP_PASSWORD);
        Channel channel = app.createChannel();
        // allowed: everything on app.*
        channel.queueDeclare("app.q", false, false, false, null);
        channel.exchangeDeclare("app.x", "direct");
        channel.queueBind("app.q", "app.x", "k");
        channel.confirmSelect();
        channel.basicPublish("app.x", "k", null, bytes("allowed"));
        channel.waitForConfirmsOrDie(10_000);
        assertThat(Wire.getEventually(channel, "app.q").getBody()).isEqualTo(bytes("allowed"));
        channel.queuePurge("app.q");
        channel.queueUnbind("app.q", "app.x", "k");

        // configure
        assertRefused(
                closedBy(() -> app.createChannel().queueDeclare("other.new", false, false, false, null)),
                "configure access to queue 'other.new'");
        assertRefused(
                closedBy(() -> app.createChannel().queueDelete("other.q")), "configure access to queue 'other.q'");
        assertRefused(
                closedBy(() -> app.createChannel().exchangeDeclare("other.y", "direct")),
                "configure access to exchange 'other.y'");
        assertRefused(closedBy(() -> app.createChannel().exchangeDelete("other.x")), "exchange 'other.x'");
        assertRefused(closedBy(() -> app.createChannel().queueDeclare()), "queue 'amq.gen-'");
        // write: publishing to an exchange, binding a queue
        assertRefused(
                closedBy(() -> {
                    Channel c = app.createChannel();
                    c.basicPublish("", "app.q", null, bytes("to the default exchange"));
                    c.queueDeclarePassive("app.q"); // a round trip, so the channel close arrives
                }),
                "write access to exchange 'amq.default'");
        assertRefused(
                closedBy(() -> app.createChannel().queueBind("other.q", "app.x", "k")),
                "write access to queue 'other.q'");
        // read: get, consume, purge, binding from an exchange
        assertRefused(closedBy(() -> app.createChannel().basicGet("other.q", true)), "read access to queue 'other.q'");
        assertRefused(
                closedBy(() -> {
                    Channel c = app.createChannel();
                    c.basicConsume("other.q", true, new DefaultConsumer(c));
                }),
                "read access to queue 'other.q'");
        assertRefused(closedBy(() -> app.createChannel().queuePurge("other.q")), "read access to queue 'other.q'");
        assertRefused(
                closedBy(() -> app.createChannel().queueBind("app.q", "other.x", "")),
                "read access to exchange 'other.x'");
        // passive declares need no permission, as in RabbitMQ
        assertThat(app.createChannel().queueDeclarePassive("other.q").getQueue())
                .isEqualTo("other.q");
        assertThat(app.isOpen()).as("channel errors leave the connection open").isTrue();
    }

    // ---------------------------------------------------------------- the matrix: one permission at a time

    /** What a denied operation does on a fresh channel of {@code connection}. */
    @FunctionalInterface
    private interface ChannelCall {
        void run(Channel channel) throws Exception;
    }

    /**
     * Objects the matrix users act on, declared by the administrator: queue {@code m.q}, direct
     * exchange {@code m.x} bound to it with key {@code k}, fanout exchange {@code m.dst}.
     */
    private Channel declareMatrixObjects() throws Exception {
        Channel admin = connect("guest", "guest").createChannel();
        admin.queueDeclare("m.q", false, false, false, null);
        admin.exchangeDeclare("m.x", "direct");
        admin.exchangeDeclare("m.dst", "fanout");
        admin.queueBind("m.q", "m.x", "k");
        return admin;
    }

    /** A user with the given expressions on "/"; "^$" matches no resource name. */
    private Connection userWith(String name, String configure, String write, String read) throws Exception {
        assertThat(admin("PUT", "/api/users/" + name, Map.of("password", "pw", "tags", "")))
                .isEqualTo(201);
        assertThat(admin(
                        "PUT",
                        "/api/permissions/%2F/" + name,
                        Map.of("configure", configure, "write", write, "read", read)))
                .isEqualTo(201);
        return connect(name, "pw");
    }

    /** The call closes its channel with 403 and RabbitMQ's text, and leaves the connection open. */
    private static void assertDenied(Connection connection, String user, String access, ChannelCall call)
            throws Exception {
        ShutdownSignalException e = closedBy(() -> call.run(connection.createChannel()));
        assertThat(replyCode(e)).isEqualTo(403);
        assertThat(replyText(e))
                .isEqualTo("ACCESS_REFUSED - " + access + " in vhost '/' refused for user '" + user + "'");
        assertThat(e.isHardError()).as("a channel error").isFalse();
        assertThat(connection.isOpen()).isTrue();
    }

    /** Publishes, then makes a round trip so that an asynchronous channel close arrives. */
    private static void publish(Channel channel, String exchange, String key) throws Exception {
        channel.basicPublish(exchange, key, null, bytes("m"));
        channel.basicQos(0);
    }

    @Test
    void shouldAllowAUserWithOnlyConfigurePermissionToDeclareAndDeleteButNotToWriteOrRead() throws Exception {
        start();
        Channel admin = declareMatrixObjects();
        Connection user = userWith("c", ".*", "^$", "^$");
        Channel channel = user.createChannel();
        channel.queueDeclare("c.q", false, false, false, null);
        channel.exchangeDeclare("c.x", "topic");
        String serverNamed = channel.queueDeclare().getQueue();
        channel.queueDelete(serverNamed);
        channel.exchangeDelete("c.x");
        channel.queueDelete("c.q");

        assertDenied(user, "c", "write access to exchange 'm.x'", c -> publish(c, "m.x", "k"));
        assertDenied(user, "c", "write access to exchange 'amq.default'", c -> publish(c, "", "m.q"));
        assertDenied(user, "c", "write access to queue 'm.q'", c -> c.queueBind("m.q", "m.x", "k2"));
        assertDenied(user, "c", "write access to queue 'm.q'", c -> c.queueUnbind("m.q", "m.x", "k"));
        assertDenied(user, "c", "write access to exchange 'm.dst'", c -> c.exchangeBind("m.dst", "m.x", "k"));
        assertDenied(user, "c", "write access to exchange 'm.dst'", c -> c.exchangeUnbind("m.dst", "m.x", "k"));
        assertDenied(user, "c", "read access to queue 'm.q'", c -> c.basicGet("m.q", true));
        assertDenied(user, "c", "read access to queue 'm.q'", c -> c.basicConsume("m.q", true, new DefaultConsumer(c)));
        assertDenied(user, "c", "read access to queue 'm.q'", c -> c.queuePurge("m.q"));
        assertThat(admin.queueDeclarePassive("m.q").getMessageCount()).isZero();
    }

    @Test
    void shouldAllowAUserWithOnlyWritePermissionToPublishButNotToConfigureOrRead() throws Exception {
        start();
        Channel admin = declareMatrixObjects();
        Connection user = userWith("w", "^$", ".*", "^$");
        Channel channel = user.createChannel();
        channel.confirmSelect();
        channel.basicPublish("m.x", "k", null, bytes("written"));
        channel.basicPublish("", "m.q", null, bytes("to the default exchange"));
        channel.waitForConfirmsOrDie(10_000);
        assertThat(Wire.getEventually(admin, "m.q").getBody()).isEqualTo(bytes("written"));
        assertThat(Wire.getEventually(admin, "m.q").getBody()).isEqualTo(bytes("to the default exchange"));

        assertDenied(
                user, "w", "configure access to queue 'w.q'", c -> c.queueDeclare("w.q", false, false, false, null));
        assertDenied(user, "w", "configure access to queue 'amq.gen-'", Channel::queueDeclare);
        assertDenied(user, "w", "configure access to queue 'm.q'", c -> c.queueDelete("m.q"));
        assertDenied(user, "w", "configure access to exchange 'w.x'", c -> c.exchangeDeclare("w.x", "direct"));
        assertDenied(user, "w", "configure access to exchange 'm.x'", c -> c.exchangeDelete("m.x"));
        // binding writes to the destination but also reads from the source
        assertDenied(user, "w", "read access to exchange 'm.x'", c -> c.queueBind("m.q", "m.x", "k2"));
        assertDenied(user, "w", "read access to exchange 'm.x'", c -> c.queueUnbind("m.q", "m.x", "k"));
        assertDenied(user, "w", "read access to exchange 'm.x'", c -> c.exchangeBind("m.dst", "m.x", "k"));
        assertDenied(user, "w", "read access to exchange 'm.x'", c -> c.exchangeUnbind("m.dst", "m.x", "k"));
        assertDenied(user, "w", "read access to queue 'm.q'", c -> c.basicGet("m.q", true));
        assertDenied(user, "w", "read access to queue 'm.q'", c -> c.basicConsume("m.q", true, new DefaultConsumer(c)));
        assertDenied(user, "w", "read access to queue 'm.q'", c -> c.queuePurge("m.q"));
        assertThat(admin.queueDeclarePassive("m.q").getQueue()).isEqualTo("m.q");
    }

    @Test
    void shouldAllowAUserWithOnlyReadPermissionToGetConsumeAndPurgeButNotToConfigureOrWrite() throws Exception {
        start();
        Channel admin = declareMatrixObjects();
        admin.confirmSelect();
        for (int i = 0; i < 3; i++) {
            admin.basicPublish("m.x", "k", null, bytes("r" + i));
        }
        admin.waitForConfirmsOrDie(10_000);
        Connection user = userWith("r", "^$", "^$", ".*");
        Channel channel = user.createChannel();
        assertThat(Wire.getEventually(channel, "m.q").getBody()).isEqualTo(bytes("r0"));
        java.util.concurrent.CompletableFuture<byte[]> consumed = new java.util.concurrent.CompletableFuture<>();
        String tag = channel.basicConsume("m.q", true, new DefaultConsumer(channel) {
            @Override
            public void handleDelivery(
                    String consumerTag,
                    com.rabbitmq.client.Envelope envelope,
                    com.rabbitmq.client.AMQP.BasicProperties properties,
                    byte[] body) {
                consumed.complete(body);
            }
        });
        assertThat(consumed.get(10, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo(bytes("r1"));
        channel.basicCancel(tag);
        channel.queuePurge("m.q");
        assertThat(admin.queueDeclarePassive("m.q").getMessageCount()).isZero();

        assertDenied(user, "r", "write access to exchange 'm.x'", c -> publish(c, "m.x", "k"));
        assertDenied(
                user, "r", "configure access to queue 'r.q'", c -> c.queueDeclare("r.q", false, false, false, null));
        assertDenied(user, "r", "configure access to queue 'm.q'", c -> c.queueDelete("m.q"));
        assertDenied(user, "r", "configure access to exchange 'r.x'", c -> c.exchangeDeclare("r.x", "direct"));
        assertDenied(user, "r", "configure access to exchange 'm.dst'", c -> c.exchangeDelete("m.dst"));
        assertDenied(user, "r", "write access to queue 'm.q'", c -> c.queueBind("m.q", "m.x", "k2"));
        assertDenied(user, "r", "write access to queue 'm.q'", c -> c.queueUnbind("m.q", "m.x", "k"));
        assertDenied(user, "r", "write access to exchange 'm.dst'", c -> c.exchangeBind("m.dst", "m.x", "k"));
        assertDenied(user, "r", "write access to exchange 'm.dst'", c -> c.exchangeUnbind("m.dst", "m.x", "k"));
    }

    @Test
    void shouldRequireWriteOnTheDestinationAndReadOnTheSourceToBindAndUnbind() throws Exception {
        start();
        Channel admin = declareMatrixObjects();
        // may write to m.q and m.dst, read from m.x; nothing else
        Connection user = userWith("b", "^$", "^m\\.(q|dst)$", "^m\\.x$");
        Channel channel = user.createChannel();
        channel.queueBind("m.q", "m.x", "k2");
        channel.queueUnbind("m.q", "m.x", "k2");
        channel.exchangeBind("m.dst", "m.x", "k");
        channel.exchangeUnbind("m.dst", "m.x", "k");

        // the other way round: m.x is not writable, m.dst not readable
        assertDenied(user, "b", "write access to exchange 'm.x'", c -> c.exchangeBind("m.x", "m.dst", ""));
        assertDenied(user, "b", "write access to exchange 'm.x'", c -> c.exchangeUnbind("m.x", "m.dst", ""));
        assertDenied(user, "b", "read access to exchange 'm.dst'", c -> c.queueBind("m.q", "m.dst", ""));
        assertDenied(user, "b", "read access to exchange 'm.dst'", c -> c.queueUnbind("m.q", "m.dst", ""));
        admin.queueDeclare("m.other", false, false, true, null);
        assertDenied(user, "b", "write access to queue 'm.other'", c -> c.queueBind("m.other", "m.x", "k"));
        // reading m.x as an exchange does not make the queue m.q readable
        assertDenied(user, "b", "read access to queue 'm.q'", c -> c.basicGet("m.q", true));
    }

    @Test
    void shouldRefuseVhostAccessWithoutPermissionsAndWrongPasswords() throws Exception {
        start();
        assertThat(admin("PUT", "/api/users/stranger", Map.of("password", "pw", "tags", "")))
                .isEqualTo(201);
        assertThatThrownBy(() -> connect("stranger", "pw"))
                .isInstanceOf(IOException.class)
                .satisfies(e -> {
                    ShutdownSignalException signal = (ShutdownSignalException) e.getCause();
                    assertThat(replyCode(signal)).isEqualTo(530);
                    assertThat(replyText(signal)).contains("access to vhost '/' refused for user 'stranger'");
                });
        assertThatThrownBy(() -> connect("guest", "wrong")).isInstanceOf(AuthenticationFailureException.class);
        assertThatThrownBy(() -> connect("nobody", "guest")).isInstanceOf(AuthenticationFailureException.class);
    }

    @Test
    void shouldApplyManagementTagsToTheHttpApi() throws Exception {
        start();
        createAppUser("");
        assertThat(admin("PUT", "/api/users/watcher", Map.of("password", "w", "tags", "monitoring")))
                .isEqualTo(201);
        assertThat(admin("PUT", "/api/users/operator", Map.of("password", "o", "tags", "management")))
                .isEqualTo(201);

        assertThat(api("GET", "/api/overview", null, "app", APP_PASSWORD))
                .as("no management tag")
                .isEqualTo(401);
        assertThat(api("GET", "/api/queues", null, "watcher", "w")).isEqualTo(200);
        assertThat(api("PUT", "/api/queues/%2F/w.q", Map.of(), "watcher", "w")).isEqualTo(401);
        assertThat(api("GET", "/api/users", null, "watcher", "w")).isEqualTo(401);
        assertThat(api("GET", "/api/users/watcher", null, "watcher", "w")).isEqualTo(200);
        assertThat(api("GET", "/api/queues/%2F", null, "operator", "o"))
                .as("management user without permissions on /")
                .isEqualTo(401);
        assertThat(admin(
                        "PUT", "/api/permissions/%2F/operator", Map.of("configure", ".*", "write", ".*", "read", ".*")))
                .isEqualTo(201);
        assertThat(api("PUT", "/api/queues/%2F/op.q", Map.of("durable", false), "operator", "o"))
                .isEqualTo(201);
        assertThat(api("PUT", "/api/users/operator", Map.of("password", "x", "tags", "administrator"), "operator", "o"))
                .as("only administrators manage users")
                .isEqualTo(401);
        assertThat(admin("DELETE", "/api/users/nobody", null)).isEqualTo(404);
        assertThat(admin("PUT", "/api/permissions/%2F/app", Map.of("configure", "(", "write", "", "read", "")))
                .as("an invalid regular expression")
                .isEqualTo(400);
    }

    @Test
    void shouldLogRefusedLoginsWithTheUserButNeverThePassword() throws Exception {
        start();
        String password = "Pa55word-that-must-not-be-logged";
        ch.qos.logback.classic.Logger courier =
                (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger("dev.courier");
        ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> logged =
                new ch.qos.logback.core.read.ListAppender<>();
        logged.start();
        courier.addAppender(logged);
        try {
            assertThatThrownBy(() -> connect("guest", password)).isInstanceOf(AuthenticationFailureException.class);
            assertThatThrownBy(() -> connect("nobody", password)).isInstanceOf(AuthenticationFailureException.class);
            assertThat(api("GET", "/api/overview", null, "guest", password)).isEqualTo(401);

            Wire.await().until(() -> refusals(logged).size() >= 3);
            assertThat(refusals(logged))
                    .anySatisfy(line -> assertThat(line)
                            .startsWith("WARN PLAIN login refused for connection from /127.0.0.1:")
                            .endsWith("user 'guest' - invalid credentials"))
                    .anySatisfy(line -> assertThat(line).endsWith("user 'nobody' - invalid credentials"))
                    .anySatisfy(line -> assertThat(line)
                            .startsWith("WARN management API login refused from /127.0.0.1:")
                            .endsWith("user 'guest' - invalid credentials"));
            String basicAuth =
                    Base64.getEncoder().encodeToString(("guest:" + password).getBytes(StandardCharsets.UTF_8));
            for (ch.qos.logback.classic.spi.ILoggingEvent event : List.copyOf(logged.list)) {
                StringBuilder everything = new StringBuilder(event.getFormattedMessage());
                if (event.getArgumentArray() != null) {
                    for (Object argument : event.getArgumentArray()) {
                        everything.append(' ').append(argument);
                    }
                }
                for (ch.qos.logback.classic.spi.IThrowableProxy t = event.getThrowableProxy();
                        t != null;
                        t = t.getCause()) {
                    everything.append(' ').append(t.getMessage());
                }
                assertThat(everything.toString())
                        .as("log line from %s", event.getLoggerName())
                        .doesNotContain(password)
                        .doesNotContain(basicAuth);
            }
        } finally {
            courier.detachAppender(logged);
        }
    }

    private static List<String> refusals(
            ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> logged) {
        return List.copyOf(logged.list).stream()
                .filter(e -> e.getFormattedMessage().contains("login refused"))
                .map(e -> e.getLevel() + " " + e.getFormattedMessage())
                .toList();
    }

    @Test
    void shouldCreateNoDefaultUserWhenTheConfigLeavesItEmpty() throws Exception {
        start(config -> config.with("default_user", ""));
        assertThat(server.users().users()).isEmpty();
        assertThatThrownBy(() -> connect("guest", "guest")).isInstanceOf(AuthenticationFailureException.class);
        assertThat(api("GET", "/api/overview", null, "guest", "guest")).isEqualTo(401);
    }

    @Test
    void shouldKeepUsersAndPermissionsAcrossARestartWithHashedPasswords() throws Exception {
        start();
        createAppUser("");
        assertThat(admin("DELETE", "/api/users/guest", null)).isEqualTo(204);

        restart();

        connect("app", APP_PASSWORD).createChannel().queueDeclare("app.after-restart", false, false, true, null);
        assertThatThrownBy(() -> connect("guest", "guest"))
                .as("a deleted default user does not come back")
                .isInstanceOf(AuthenticationFailureException.class);
        try (Stream<Path> files = Files.walk(dataDir)) {
            for (Path file : files.filter(Files::isRegularFile).toList()) {
                assertThat(new String(Files.readAllBytes(file), StandardCharsets.ISO_8859_1))
                        .as("plain password in %s", file)
                        .doesNotContain(APP_PASSWORD);
            }
        }
    }
}
