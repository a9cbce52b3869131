package dev.courier.wire;

import static dev.courier.wire.Wire.await;
import static dev.courier.wire.Wire.bytes;
import static dev.courier.wire.Wire.text;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.rabbitmq.client.Channel;
import dev.courier.server.ctl.Ctl;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code courier ctl} against a running broker's management API: tables, --json, errors and exit codes. */
class CtlTest {
    @RegisterExtension
    static final CourierBroker broker = new CourierBroker();

    private String url;

    @BeforeEach
    void onlyOnCourier() {
        org.junit.jupiter.api.Assumptions.assumeTrue(broker.isCourier(), "ctl talks to Courier's management port");
        url = "http://127.0.0.1:" + broker.server().httpPort();
    }

    private record Run(int exitCode, String out, String err) {}

    private Run ctl(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        List<String> all = new ArrayList<>(List.of(args));
        if (!all.contains("--url")) {
            all.add("--url");
            all.add(url);
        }
        int code = new CommandLine(new Ctl())
                .setOut(new PrintWriter(out))
                .setErr(new PrintWriter(err))
                .execute(all.toArray(String[]::new));
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void shouldDeclarePublishListGetAndPurgeAQueue() throws Exception {
        String queue = CourierBroker.unique("ctl-q");
        Run declared = ctl("declare", "queue", queue, "--no-durable", "--arg", "x-max-length=50");
        assertThat(declared.exitCode()).as(declared.err()).isZero();
        assertThat(ctl("publish", "--routing-key", queue, "--payload", "first", "--header", "origin=ctl")
                        .out())
                .contains("routed");
        assertThat(ctl("publish", "--routing-key", queue, "--payload", "second").exitCode())
                .isZero();

        await().until(() -> ctl("list", "queues")
                .out()
                .lines()
                .anyMatch(l -> l.startsWith(queue + " ") && l.split("\\s+")[1].equals("2")));
        Run table = ctl("list", "queues");
        assertThat(table.out().lines().findFirst())
                .hasValueSatisfying(header -> assertThat(header).contains("name", "ready", "unacked", "consumers"));

        Run json = ctl("list", "queues", "--json");
        JsonNode queues = new ObjectMapper().readTree(json.out());
        JsonNode mine = null;
        for (JsonNode q : queues) {
            if (q.get("name").asText().equals(queue)) {
                mine = q;
            }
        }
        assertThat(mine).isNotNull();
        assertThat(mine.get("arguments").get("x-max-length").asInt()).isEqualTo(50);

        Run peek = ctl("get", queue, "--count", "5");
        assertThat(peek.out()).contains("first", "second");
        Channel channel = broker.connect().createChannel();
        assertThat(channel.queueDeclarePassive(queue).getMessageCount()).isEqualTo(2); // requeued by default

        assertThat(ctl("purge", queue).exitCode()).isZero();
        assertThat(channel.queueDeclarePassive(queue).getMessageCount()).isZero();
        assertThat(ctl("delete", "queue", queue).exitCode()).isZero();
    }

    @Test
    void shouldPublishAFileAndBindThroughAnExchange(@TempDir Path dir) throws Exception {
        String exchange = CourierBroker.unique("ctl-x");
        String queue = CourierBroker.unique("ctl-bq");
        assertThat(ctl("declare", "exchange", exchange, "--type", "fanout", "--no-durable")
                        .exitCode())
                .isZero();
        assertThat(ctl("declare", "queue", queue, "--no-durable").exitCode()).isZero();
        assertThat(ctl("declare", "binding", "--source", exchange, "--destination", queue)
                        .exitCode())
                .isZero();
        assertThat(ctl("list", "bindings").out()).contains(exchange);
        Path file = dir.resolve("body.bin");
        Files.write(file, new byte[] {0, 1, 2, (byte) 0xff});
        assertThat(ctl("publish", "--exchange", exchange, "--routing-key", "any", "--file", file.toString())
                        .out())
                .contains("routed");
        Channel channel = broker.connect().createChannel();
        assertThat(Wire.getEventually(channel, queue).getBody()).containsExactly(0, 1, 2, 0xff);

        assertThat(ctl("delete", "binding", "--source", exchange, "--destination", queue)
                        .exitCode())
                .isZero();
        assertThat(ctl("publish", "--exchange", exchange, "--routing-key", "any", "--payload", "x")
                        .out())
                .contains("unroutable");
        assertThat(ctl("list", "exchanges").out()).contains(exchange, "fanout");
    }

    @Test
    void shouldMoveDeadLetteredMessagesBack() throws Exception {
        String source = CourierBroker.unique("ctl-src");
        String dlq = CourierBroker.unique("ctl-dlq");
        Channel channel = broker.connect().createChannel();
        channel.queueDeclare(dlq, false, false, true, null);
        channel.queueDeclare(
                source, false, false, true, Map.of("x-dead-letter-exchange", "", "x-dead-letter-routing-key", dlq));
        channel.basicPublish("", source, null, bytes("poison"));
        channel.basicReject(
                Wire.getEventually(channel, source, false).getEnvelope().getDeliveryTag(), false);
        await().until(() -> channel.queueDeclarePassive(dlq).getMessageCount() == 1);

        Run moved = ctl("move", dlq, source);
        assertThat(moved.exitCode()).as(moved.err()).isZero();
        assertThat(moved.out()).contains("moved 1 message(s)");
        assertThat(text(Wire.getEventually(channel, source).getBody())).isEqualTo("poison");
    }

    @Test
    void shouldListConnectionsAndShowStatus() throws Exception {
        broker.track(broker.factory().newConnection("ctl-visible")).createChannel();
        await().until(() -> ctl("list", "connections").out().contains("ctl-visible"));
        Run status = ctl("status");
        assertThat(status.exitCode()).isZero();
        assertThat(status.out()).contains("Courier", "connections", "running");
        assertThat(ctl("list", "nodes").out()).contains("true");
        assertThat(ctl("list", "vhosts").out()).contains("/");
        assertThat(ctl("list", "users").out()).contains("guest");
    }

    private boolean canConnect(String user, String password, String vhost) throws Exception {
        com.rabbitmq.client.ConnectionFactory factory = broker.factory();
        factory.setUsername(user);
        factory.setPassword(password);
        factory.setVirtualHost(vhost);
        try {
            broker.track(factory.newConnection()).close();
            return true;
        } catch (java.io.IOException e) {
            return false;
        }
    }

    private static JsonNode json(Run run) throws Exception {
        assertThat(run.exitCode()).as(run.err()).isZero();
        return new ObjectMapper().readTree(run.out());
    }

    @Test
    void shouldAddAUserGrantAndClearItsPermissionsAndDeleteIt() throws Exception {
        String vhost = CourierBroker.unique("ctl-vhost");
        String user = CourierBroker.unique("ctl-user");

        Run vhostAdded = ctl("add-vhost", vhost);
        assertThat(vhostAdded.exitCode()).as(vhostAdded.err()).isZero();
        assertThat(vhostAdded.out()).isEqualToIgnoringNewLines("vhost '" + vhost + "' created");
        assertThat(ctl("list", "vhosts").out()).contains(vhost);

        Run userAdded = ctl("add-user", user, "--new-password", "pw1", "--tags", "monitoring");
        assertThat(userAdded.exitCode()).as(userAdded.err()).isZero();
        assertThat(userAdded.out()).isEqualToIgnoringNewLines("user '" + user + "' saved");
        JsonNode saved = json(ctl("add-user", user, "--new-password", "pw2", "--tags", "monitoring", "--json"));
        assertThat(saved.get("name").asText()).isEqualTo(user);
        assertThat(saved.get("tags").toString()).contains("monitoring");
        assertThat(ctl("list", "users").out()).contains(user);

        Run granted = ctl("set-permissions", user, "--vhost", vhost, "--configure", "^$", "--write", "^app\\.");
        assertThat(granted.exitCode()).as(granted.err()).isZero();
        assertThat(granted.out())
                .isEqualToIgnoringNewLines("permissions of '" + user + "' on vhost '" + vhost + "' set");
        JsonNode permission = json(ctl("set-permissions", user, "-p", vhost, "--configure", "^cfg$", "--json"));
        assertThat(permission.get("user").asText()).isEqualTo(user);
        assertThat(permission.get("vhost").asText()).isEqualTo(vhost);
        assertThat(permission.get("configure").asText()).isEqualTo("^cfg$");
        assertThat(permission.get("write").asText()).as("the option's default").isEqualTo(".*");
        assertThat(json(ctl("list", "permissions", "--json"))).anySatisfy(p -> assertThat(
                        p.get("user").asText() + "@" + p.get("vhost").asText())
                .isEqualTo(user + "@" + vhost));
        assertThat(ctl("list", "permissions").out()).contains(user, "^cfg$");
        assertThat(canConnect(user, "pw2", vhost)).as("the new password").isTrue();
        assertThat(canConnect(user, "pw1", vhost)).as("the old password").isFalse();

        Run cleared = ctl("clear-permissions", user, "--vhost", vhost);
        assertThat(cleared.exitCode()).as(cleared.err()).isZero();
        assertThat(cleared.out())
                .isEqualToIgnoringNewLines("permissions of '" + user + "' on vhost '" + vhost + "' cleared");
        assertThat(canConnect(user, "pw2", vhost)).as("no permissions left").isFalse();
        assertThat(ctl("list", "permissions").out()).doesNotContain(user);

        Run deleted = ctl("delete-user", user);
        assertThat(deleted.exitCode()).as(deleted.err()).isZero();
        assertThat(deleted.out()).isEqualToIgnoringNewLines("user '" + user + "' deleted");
        assertThat(ctl("list", "users").out()).doesNotContain(user);

        Run vhostDeleted = ctl("delete-vhost", vhost);
        assertThat(vhostDeleted.exitCode()).as(vhostDeleted.err()).isZero();
        assertThat(vhostDeleted.out()).isEqualToIgnoringNewLines("vhost '" + vhost + "' deleted");
        assertThat(ctl("list", "vhosts").out()).doesNotContain(vhost);

        String other = CourierBroker.unique("ctl-json-vhost");
        assertThat(json(ctl("add-vhost", other, "--json")).get("name").asText()).isEqualTo(other);
        assertThat(json(ctl("delete-vhost", other, "--json"))).isEmpty();
    }

    @Test
    void shouldCloseAConnectionByItsName() throws Exception {
        com.rabbitmq.client.Connection victim = broker.track(broker.factory().newConnection("ctl-victim"));
        java.util.concurrent.CompletableFuture<com.rabbitmq.client.ShutdownSignalException> closed =
                new java.util.concurrent.CompletableFuture<>();
        victim.addShutdownListener(closed::complete);
        String[] name = new String[1];
        await().until(() -> {
            for (JsonNode c : json(ctl("list", "connections", "--json"))) {
                if ("ctl-victim"
                        .equals(c.path("client_properties")
                                .path("connection_name")
                                .asText())) {
                    name[0] = c.get("name").asText();
                }
            }
            return name[0] != null;
        });

        Run run = ctl("close-connection", name[0], "--reason", "maintenance window");
        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.out()).isEqualToIgnoringNewLines("connection '" + name[0] + "' closed");
        com.rabbitmq.client.ShutdownSignalException signal = closed.get(10, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(Wire.replyCode(signal)).isEqualTo(320);
        assertThat(Wire.replyText(signal)).contains("maintenance window");
        await().until(() -> !ctl("list", "connections").out().contains("ctl-victim"));

        Run again = ctl("close-connection", name[0]);
        assertThat(again.exitCode()).isEqualTo(1);
        assertThat(again.err()).contains("no connection '" + name[0] + "'", "404");
    }

    @Test
    void shouldExplainBadUserVhostPermissionAndConnectionCommands() {
        assertRefused(ctl("delete-user", "no-such-user"), "no user 'no-such-user'", "404");
        assertRefused(ctl("set-permissions", "no-such-user"), "no user 'no-such-user'", "404");
        assertRefused(ctl("set-permissions", "guest", "--vhost", "no-such-vhost"), "vhost 'no-such-vhost'", "404");
        assertRefused(
                ctl("set-permissions", "guest", "--configure", "("), "invalid regular expression '('", "HTTP 400");
        assertRefused(ctl("clear-permissions", "guest", "--vhost", "no-such-vhost"), "vhost 'no-such-vhost'", "404");
        assertRefused(ctl("clear-permissions", "no-such-user"), "no user 'no-such-user'", "404");
        assertRefused(ctl("delete-vhost", "no-such-vhost"), "vhost 'no-such-vhost'", "404");
        assertRefused(ctl("close-connection", "no-such-connection"), "no connection 'no-such-connection'", "404");
        assertRefused(ctl("add-user", "someone", "--new-password", "x", "--password", "wrong"), "login failed", "401");
        assertThat(ctl("list", "users").out()).doesNotContain("someone");

        assertUsage(ctl("add-user"), "NAME");
        assertUsage(ctl("add-user", "someone"), "--new-password");
        assertUsage(ctl("delete-user"), "NAME");
        assertUsage(ctl("set-permissions"), "USER");
        assertUsage(ctl("clear-permissions"), "USER");
        assertUsage(ctl("add-vhost"), "NAME");
        assertUsage(ctl("delete-vhost"), "NAME");
        assertUsage(ctl("close-connection"), "NAME");
        assertUsage(ctl("delete-user", "a", "b"), "Unmatched argument");
    }

    private static void assertRefused(Run run, String... reason) {
        assertThat(run.exitCode()).as(run.out() + run.err()).isEqualTo(1);
        assertThat(run.err()).startsWith("courier ctl: ").contains(reason);
        assertThat(run.out()).isEmpty();
    }

    private static void assertUsage(Run run, String missing) {
        assertThat(run.exitCode()).as(run.out() + run.err()).isEqualTo(2);
        assertThat(run.err()).contains(missing);
    }

    @Test
    void shouldExplainFailuresWithExitCodes() {
        Run missing = ctl("purge", "no-such-queue");
        assertThat(missing.exitCode()).isEqualTo(1);
        assertThat(missing.err()).contains("no queue 'no-such-queue'", "404");

        Run badLogin = ctl("list", "queues", "--password", "wrong");
        assertThat(badLogin.exitCode()).isEqualTo(1);
        assertThat(badLogin.err()).contains("login failed");

        assertThat(ctl("add-user", "untagged", "--new-password", "pw").exitCode())
                .isZero();
        Run untagged = ctl("list", "queues", "--user", "untagged", "--password", "pw");
        assertThat(untagged.exitCode()).isEqualTo(1);
        assertThat(untagged.err()).contains("may not use the management API", "--tags management", "401");

        Run unreachable = ctl("list", "queues", "--url", "http://127.0.0.1:1");
        assertThat(unreachable.exitCode()).isEqualTo(3);
        assertThat(unreachable.err()).contains("cannot reach");

        Run usage = ctl("list", "nonsense");
        assertThat(usage.exitCode()).isEqualTo(2);
        assertThat(usage.err()).contains("cannot list 'nonsense'");

        Run noBody = ctl("publish", "--routing-key", "q");
        assertThat(noBody.exitCode()).isEqualTo(2);
        assertThat(noBody.err()).contains("--payload");

        Run unknownOption = ctl("list", "queues", "--bogus");
        assertThat(unknownOption.exitCode()).isEqualTo(2);
    }
}
