package dev.courier.server.ctl;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code courier ctl}: operate a running broker through its management API (RabbitMQ's API, so it
 * also works against RabbitMQ for the common commands). Human tables by default, {@code --json}
 * for scripts. Exit codes: 0 done, 1 the broker refused (the reason is printed), 2 bad usage,
 * 3 the management API could not be reached.
 */
@Command(
        name = "ctl",
        mixinStandardHelpOptions = true,
        description = "Operate a running broker through its management API.",
        subcommands = {
            Ctl.ListCommand.class,
            Ctl.Declare.class,
            Ctl.Delete.class,
            Ctl.Publish.class,
            Ctl.Get.class,
            Ctl.Purge.class,
            Ctl.Move.class,
            Ctl.CloseConnection.class,
            Ctl.AddUser.class,
            Ctl.AddVhost.class,
            Ctl.DeleteVhost.class,
            Ctl.DeleteUser.class,
            Ctl.SetPermissions.class,
            Ctl.ClearPermissions.class,
            Ctl.Status.class
        })
public final class Ctl implements Callable<Integer> {
    static final int REFUSED = 1;
    static final int UNREACHABLE = 3;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getOut());
        return 0;
    }

    /** Where the API is and how to log in; on every subcommand. */
    static final class Target {
        @Option(
                names = "--url",
                defaultValue = "${env:COURIER_URL:-http://127.0.0.1:15672}",
                description = "management API base URL (default ${DEFAULT-VALUE}; env COURIER_URL)")
        String url;

        @Option(names = "--user", defaultValue = "guest", description = "user (default ${DEFAULT-VALUE})")
        String user;

        @Option(
                names = "--password",
                defaultValue = "${env:COURIER_PASSWORD:-guest}",
                description = "password (default guest; env COURIER_PASSWORD)")
        String password;

        @Option(
                names = {"--vhost", "-p"},
                defaultValue = "/",
                description = "virtual host (default ${DEFAULT-VALUE})")
        String vhost;

        @Option(names = "--json", description = "print the API's JSON instead of a table")
        boolean json;
    }

    /** The shared shape of a subcommand: call the API, print, map failures to exit codes. */
    abstract static class Base implements Callable<Integer> {
        @Mixin
        Target target;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        abstract void run(ManagementClient api, PrintWriter out) throws Exception;

        @Override
        public Integer call() throws Exception {
            PrintWriter out = spec.commandLine().getOut();
            PrintWriter err = spec.commandLine().getErr();
            try {
                run(new ManagementClient(target.url, target.user, target.password), out);
                out.flush();
                return 0;
            } catch (ManagementClient.ApiError e) {
                err.println("courier ctl: " + e.getMessage() + " (HTTP " + e.status() + ")");
                err.flush();
                return REFUSED;
            } catch (ManagementClient.Unreachable e) {
                err.println("courier ctl: " + e.getMessage());
                err.flush();
                return UNREACHABLE;
            } catch (IllegalArgumentException e) {
                err.println("courier ctl: " + e.getMessage());
                err.flush();
                return CommandLine.ExitCode.USAGE;
            }
        }

        String vhostPath() {
            return ManagementClient.segment(target.vhost);
        }

        void print(JsonNode json, Table table, PrintWriter out) throws IOException {
            if (target.json) {
                out.println(
                        ManagementClient.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(json));
            } else {
                table.print(json, out);
            }
        }

        void printJsonOr(JsonNode json, String text, PrintWriter out) throws IOException {
            if (target.json) {
                out.println(
                        json == null
                                ? "{}"
                                : ManagementClient.JSON
                                        .writerWithDefaultPrettyPrinter()
                                        .writeValueAsString(json));
            } else {
                out.println(text);
            }
        }
    }

    @Command(
            name = "list",
            mixinStandardHelpOptions = true,
            description = "List queues, exchanges, bindings, connections, channels, consumers, vhosts, users or nodes.")
    static final class ListCommand extends Base {
        @Parameters(
                paramLabel = "WHAT",
                description =
                        "queues | exchanges | bindings | connections | channels | consumers | vhosts | users | permissions | nodes")
        String what;

        @Override
        void run(ManagementClient api, PrintWriter out) throws Exception {
            String v = vhostPath();
            switch (what) {
                case "queues" ->
                    print(
                            api.get("/api/queues/" + v),
                            new Table()
                                    .column("name", "name")
                                    .column("ready", "messages_ready")
                                    .column("unacked", "messages_unacknowledged")
                                    .column("consumers", "consumers")
                                    .column("durable", "durable")
                                    .column("publish/s", "message_stats.publish_details.rate")
                                    .column("deliver/s", "message_stats.deliver_get_details.rate"),
                            out);
                case "exchanges" ->
                    print(
                            api.get("/api/exchanges/" + v),
                            new Table()
                                    .column("name", "name")
                                    .column("type", "type")
                                    .column("durable", "durable")
                                    .column("auto_delete", "auto_delete")
                                    .column("internal", "internal"),
                            out);
                case "bindings" ->
                    print(
                            api.get("/api/bindings/" + v),
                            new Table()
                                    .column("source", "source")
                                    .column("destination", "destination")
                                    .column("type", "destination_type")
                                    .column("routing_key", "routing_key")
                                    .column("arguments", "arguments"),
                            out);
                case "connections" ->
                    print(
                            api.get("/api/connections"),
                            new Table()
                                    .column("name", "name")
                                    .column("user", "user")
                                    .column("vhost", "vhost")
                                    .column("channels", "channels")
                                    .column("client", "client_properties.connection_name")
                                    .column("state", "state"),
                            out);
                case "channels" ->
                    print(
                            api.get("/api/channels"),
                            new Table()
                                    .column("name", "name")
                                    .column("consumers", "consumer_count")
                                    .column("prefetch", "prefetch_count")
                                    .column("unacked", "messages_unacknowledged")
                                    .column("confirm", "confirm"),
                            out);
                case "consumers" ->
                    print(
                            api.get("/api/consumers/" + v),
                            new Table()
                                    .column("tag", "consumer_tag")
                                    .column("queue", "queue.name")
                                    .column("ack_required", "ack_required")
                                    .column("prefetch", "prefetch_count")
                                    .column("channel", "channel_details.name"),
                            out);
                case "vhosts" ->
                    print(
                            api.get("/api/vhosts"),
                            new Table()
                                    .column("name", "name")
                                    .column("messages", "messages")
                                    .column("ready", "messages_ready")
                                    .column("unacked", "messages_unacknowledged"),
                            out);
                case "permissions" ->
                    print(
                            api.get("/api/permissions"),
                            new Table()
                                    .column("user", "user")
                                    .column("vhost", "vhost")
                                    .column("configure", "configure")
                                    .column("write", "write")
                                    .column("read", "read"),
                            out);
                case "users" ->
                    print(
                            api.get("/api/users"),
                            new Table().column("name", "name").column("tags", "tags"),
                            out);
                case "nodes" ->
                    print(
                            api.get("/api/nodes"),
                            new Table()
                                    .column("name", "name")
                                    .column("running", "running")
                                    .column("uptime_ms", "uptime")
                                    .column("mem_used", "mem_used")
                                    .column("processors", "processors"),
                            out);
                default ->
                    throw new IllegalArgumentException(
                            "cannot list '" + what
                                    + "'; one of: queues, exchanges, bindings, connections, channels, consumers, vhosts, users, nodes");
            }
        }
    }

    @Command(
            name = "declare",
            mixinStandardHelpOptions = true,
            description = "Declare a queue, an exchange or a binding.")
    static final class Declare extends Base {
        @Parameters(index = "0", paramLabel = "KIND", description = "queue | exchange | binding")
        String kind;

        @Parameters(index = "1", arity = "0..1", paramLabel = "NAME", description = "queue or exchange name")
        String name;

        @Option(names = "--type", description = "exchange type: direct, fanout, topic, headers")
        String type;

        @Option(names = "--durable", negatable = true, defaultValue = "true", description = "durable (default true)")
        boolean durable;

        @Option(names = "--auto-delete", description = "delete when the last consumer or binding goes")
        boolean autoDelete;

        @Option(names = "--arg", description = "argument key=value, e.g. x-max-length=1000 (repeatable)")
        List<String> arguments = new ArrayList<>();

        @Option(names = "--source", description = "binding: source exchange")
        String source;

        @Option(names = "--destination", description = "binding: destination queue or exchange")
        String destination;

        @Option(
                names = "--destination-type",
                defaultValue = "queue",
                description = "binding: queue or exchange (default queue)")
        String destinationType;

        @Option(names = "--routing-key", defaultValue = "", description = "binding: routing key")
        String routingKey;

        @Override
        void run(ManagementClient api, PrintWriter out) throws Exception {
            Map<String, Object> body = new LinkedHashMap<>();
            switch (kind) {
                case "queue" -> {
                    body.put("durable", durable);
                    body.put("auto_delete", autoDelete);
                    body.put("arguments", parseArguments(arguments));
                    api.send(
                            "PUT", "/api/queues/" + vhostPath() + "/" + ManagementClient.segment(required(name)), body);
                    out.println("queue '" + name + "' declared");
                }
                case "exchange" -> {
                    if (type == null) {
                        throw new IllegalArgumentException("declare exchange needs --type");
                    }
                    body.put("type", type);
                    body.put("durable", durable);
                    body.put("auto_delete", autoDelete);
                    body.put("arguments", parseArguments(arguments));
                    api.send(
                            "PUT",
                            "/api/exchanges/" + vhostPath() + "/" + ManagementClient.segment(required(name)),
                            body);
                    out.println("exchange '" + name + "' declared");
                }
                case "binding" -> {
                    body.put("routing_key", routingKey);
                    body.put("arguments", parseArguments(arguments));
                    api.send("POST", bindingPath(vhostPath(), source, destinationType, destination), body);
                    out.println("bound '" + destination + "' to '" + source + "' with key '" + routingKey + "'");
                }
                default ->
                    throw new IllegalArgumentException(
                            "cannot declare '" + kind + "'; one of: queue, exchange, binding");
            }
        }

        private String required(String value) {
            if (value == null) {
                throw new IllegalArgumentException("declare " + kind + " needs a NAME");
            }
            return value;
        }
    }

    @Command(
            name = "delete",
            mixinStandardHelpOptions = true,
            description = "Delete a queue, an exchange or a binding.")
    static final class Delete extends Base {
        @Parameters(index = "0", paramLabel = "KIND", description = "queue | exchange | binding")
        String kind;

        @Parameters(index = "1", arity = "0..1", paramLabel = "NAME")
        String name;

        @Option(names = "--if-unused", description = "only if it has no consumers (queue) or bindings (exchange)")
        boolean ifUnused;

        @Option(names = "--if-empty", description = "queue: only if it holds no messages")
        boolean ifEmpty;

        @Option(names = "--source", description = "binding: source exchange")
        String source;

        @Option(names = "--destination", description = "binding: destination")
        String destination;

        @Option(names = "--destination-type", defaultValue = "queue", description = "binding: queue or exchange")
        String destinationType;

        @Option(names = "--routing-key", defaultValue = "", description = "binding: routing key")
        String routingKey;

        @Override
        void run(ManagementClient api, PrintWriter out) throws Exception {
            switch (kind) {
                case "queue", "exchange" -> {
                    if (name == null) {
                        throw new IllegalArgumentException("delete " + kind + " needs a NAME");
                    }
                    String query = (ifUnused ? "?if-unused=true" : "")
                            + (ifEmpty ? (ifUnused ? "&" : "?") + "if-empty=true" : "");
                    api.send(
                            "DELETE",
                            "/api/" + kind + "s/" + vhostPath() + "/" + ManagementClient.segment(name) + query,
                            null);
                    out.println(kind + " '" + name + "' deleted");
                }
                case "binding" -> {
                    String key = routingKey.isEmpty() ? "~" : routingKey;
                    api.send(
                            "DELETE",
                            bindingPath(vhostPath(), source, destinationType, destination) + "/"
                                    + ManagementClient.segment(key),
                            null);
                    out.println("binding deleted");
                }
                default ->
                    throw new IllegalArgumentException(
                            "cannot delete '" + kind + "'; one of: queue, exchange, binding");
            }
        }
    }

    @Command(name = "publish", mixinStandardHelpOptions = true, description = "Publish one message (for debugging).")
    static final class Publish extends Base {
        @Option(names = "--exchange", defaultValue = "", description = "exchange (default: the default exchange)")
        String exchange;

        @Option(
                names = "--routing-key",
                required = true,
                description = "routing key (the queue, with the default exchange)")
        String routingKey;

        @Option(names = "--payload", description = "message body as text")
        String payload;

        @Option(names = "--file", description = "message body from a file")
        Path file;

        @Option(names = "--property", description = "property key=value, e.g. delivery_mode=2 (repeatable)")
        List<String> properties = new ArrayList<>();

        @Option(names = "--header", description = "header key=value (repeatable)")
        List<String> headers = new ArrayList<>();

        @Override
        void run(ManagementClient api, PrintWriter out) throws Exception {
            if ((payload == null) == (file == null)) {
                throw new IllegalArgumentException("publish needs exactly one of --payload and --file");
            }
            Map<String, Object> props = parseArguments(properties);
            if (!headers.isEmpty()) {
                props.put("headers", parseArguments(headers));
            }
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("routing_key", routingKey);
            if (file != null) {
                body.put("payload", java.util.Base64.getEncoder().encodeToString(Files.readAllBytes(file)));
                body.put("payload_encoding", "base64");
            } else {
                body.put("payload", payload);
                body.put("payload_encoding", "string");
            }
            body.put("properties", props);
            String name = exchange.isEmpty() ? "amq.default" : exchange;
            JsonNode answer = api.send(
                    "POST", "/api/exchanges/" + vhostPath() + "/" + ManagementClient.segment(name) + "/publish", body);
            boolean routed = answer != null && answer.path("routed").asBoolean();
            printJsonOr(answer, routed ? "published (routed)" : "published, but no queue took it (unroutable)", out);
        }
    }

    @Command(
            name = "get",
            mixinStandardHelpOptions = true,
            description = "Fetch messages from a queue (requeued by default, for inspection).")
    static final class Get extends Base {
        @Parameters(paramLabel = "QUEUE")
        String queue;

        @Option(names = "--count", defaultValue = "1", description = "how many (default ${DEFAULT-VALUE})")
        int count;

        @Option(
                names = "--ackmode",
                defaultValue = "ack_requeue_true",
                description = "ack_requeue_true (default, leaves them), ack_requeue_false (takes them), "
                        + "reject_requeue_true, reject_requeue_false (dead-letters them)")
        String ackMode;

        @Override
        void run(ManagementClient api, PrintWriter out) throws Exception {
            Map<String, Object> body = Map.of("count", count, "ackmode", ackMode, "encoding", "auto");
            JsonNode messages = api.send(
                    "POST", "/api/queues/" + vhostPath() + "/" + ManagementClient.segment(queue) + "/get", body);
            print(
                    messages,
                    new Table()
                            .column("routing_key", "routing_key")
                            .column("exchange", "exchange")
                            .column("redelivered", "redelivered")
                            .column("bytes", "payload_bytes")
                            .column("payload", "payload"),
                    out);
        }
    }

    @Command(name = "purge", mixinStandardHelpOptions = true, description = "Drop a queue's ready messages.")
    static final class Purge extends Base {
        @Parameters(paramLabel = "QUEUE")
        String queue;

        @Override
        void run(ManagementClient api, PrintWriter out) throws Exception {
            api.send(
                    "DELETE", "/api/queues/" + vhostPath() + "/" + ManagementClient.segment(queue) + "/contents", null);
            out.println("queue '" + queue + "' purged");
        }
    }

    @Command(
            name = "move",
            mixinStandardHelpOptions = true,
            description = "Move ready messages from one queue to another, in order (e.g. a DLQ back to its source).")
    static final class Move extends Base {
        @Parameters(index = "0", paramLabel = "SOURCE")
        String source;

        @Parameters(index = "1", paramLabel = "DESTINATION")
        String destination;

        @Option(names = "--max", description = "move at most this many (default: all)")
        Integer max;

        @Override
        void run(ManagementClient api, PrintWriter out) throws Exception {
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("destination", destination);
            if (max != null) {
                body.put("max", max);
            }
            JsonNode answer = api.send(
                    "POST", "/api/queues/" + vhostPath() + "/" + ManagementClient.segment(source) + "/move", body);
            printJsonOr(
                    answer,
                    "moved " + answer.path("moved").asInt() + " message(s) from '" + source + "' to '" + destination
                            + "'",
                    out);
        }
    }

    @Command(
            name = "close-connection",
            mixinStandardHelpOptions = true,
            description = "Close a client connection (it sees 320 CONNECTION_FORCED).")
    static final class CloseConnection extends Base {
        @Parameters(paramLabel = "NAME", description = "as shown by 'list connections'")
        String name;

        @Option(names = "--reason", defaultValue = "Closed via courier ctl", description = "text the client sees")
        String reason;

        @Override
        void run(ManagementClient api, PrintWriter out) throws Exception {
            api.send(
                    "DELETE",
                    "/api/connections/" + ManagementClient.segment(name) + "?reason="
                            + ManagementClient.segment(reason),
                    null);
            printJsonOr(null, "connection '" + name + "' closed", out);
        }
    }

    @Command(name = "status", mixinStandardHelpOptions = true, description = "Node and cluster status with totals.")
    static final class Status extends Base {
        @Override
        void run(ManagementClient api, PrintWriter out) throws Exception {
            JsonNode overview = api.get("/api/overview");
            JsonNode nodes = api.get("/api/nodes");
            if (target.json) {
                Map<String, Object> both = new LinkedHashMap<>();
                both.put("overview", overview);
                both.put("nodes", nodes);
                out.println(
                        ManagementClient.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(both));
                return;
            }
            out.println(Table.text(overview, "product_name") + " " + Table.text(overview, "product_version")
                    + ", cluster " + Table.text(overview, "cluster_name"));
            JsonNode totals = overview.path("object_totals");
            out.println("connections " + totals.path("connections").asInt() + ", channels "
                    + totals.path("channels").asInt() + ", queues "
                    + totals.path("queues").asInt()
                    + ", consumers " + totals.path("consumers").asInt() + ", messages "
                    + overview.path("queue_totals").path("messages").asLong());
            out.println();
            new Table()
                    .column("node", "name")
                    .column("running", "running")
                    .column("uptime_ms", "uptime")
                    .column("mem_used", "mem_used")
                    .print(nodes, out);
            JsonNode groups = nodes.path(0).path("raft_groups");
            if (groups.isArray() && !groups.isEmpty()) {
                out.println();
                out.println(
                        "Raft groups of quorum queues, as node " + Table.text(nodes.path(0), "name") + " sees them:");
                new Table()
                        .column("group", "name")
                        .column("role", "role")
                        .column("leader", "leader")
                        .column("term", "term")
                        .column("commit", "commit_index")
                        .column("applied", "applied_index")
                        .print(groups, out);
            }
        }
    }

    @Command(
            name = "add-user",
            mixinStandardHelpOptions = true,
            description = "Create a user (or change its password and tags).")
    static final class AddUser extends Base {
        @Parameters(paramLabel = "NAME")
        String name;

        @Option(names = "--new-password", required = true, description = "the user's password")
        String newPassword;

        @Option(
                names = "--tags",
                defaultValue = "",
                description = "comma-separated: administrator, monitoring, management (none: AMQP only)")
        String tags;

        @Override
        void run(ManagementClient api, PrintWriter out) throws Exception {
            api.send(
                    "PUT",
                    "/api/users/" + ManagementClient.segment(name),
                    Map.of("password", newPassword, "tags", tags));
            printJsonOr(
                    target.json ? api.get("/api/users/" + ManagementClient.segment(name)) : null,
                    "user '" + name + "' saved",
                    out);
        }
    }

    @Command(name = "delete-user", mixinStandardHelpOptions = true, description = "Delete a user and its permissions.")
    static final class DeleteUser extends Base {
        @Parameters(paramLabel = "NAME")
        String name;

        @Override
        void run(ManagementClient api, PrintWriter out) throws Exception {
            api.send("DELETE", "/api/users/" + ManagementClient.segment(name), null);
            printJsonOr(null, "user '" + name + "' deleted", out);
        }
    }

    @Command(
            name = "set-permissions",
            mixinStandardHelpOptions = true,
            description = "Set a user's configure/write/read regular expressions in a vhost (--vhost).")
    static final class SetPermissions extends Base {
        @Parameters(paramLabel = "USER")
        String user;

        @Option(names = "--configure", defaultValue = ".*", description = "default ${DEFAULT-VALUE}")
        String configure;

        @Option(names = "--write", defaultValue = ".*", description = "default ${DEFAULT-VALUE}")
        String write;

        @Option(names = "--read", defaultValue = ".*", description = "default ${DEFAULT-VALUE}")
        String read;

        @Override
        void run(ManagementClient api, PrintWriter out) throws Exception {
            api.send(
                    "PUT",
                    "/api/permissions/" + vhostPath() + "/" + ManagementClient.segment(user),
                    Map.of("configure", configure, "write", write, "read", read));
            printJsonOr(
                    target.json
                            ? api.get("/api/permissions/" + vhostPath() + "/" + ManagementClient.segment(user))
                            : null,
                    "permissions of '" + user + "' on vhost '" + target.vhost + "' set",
                    out);
        }
    }

    @Command(
            name = "clear-permissions",
            mixinStandardHelpOptions = true,
            description = "Remove a user's access to a vhost (--vhost).")
    static final class ClearPermissions extends Base {
        @Parameters(paramLabel = "USER")
        String user;

        @Override
        void run(ManagementClient api, PrintWriter out) throws Exception {
            api.send("DELETE", "/api/permissions/" + vhostPath() + "/" + ManagementClient.segment(user), null);
            printJsonOr(null, "permissions of '" + user + "' on vhost '" + target.vhost + "' cleared", out);
        }
    }

    @Command(
            name = "add-vhost",
            mixinStandardHelpOptions = true,
            description = "Create a virtual host (you get full permissions on it).")
    static final class AddVhost extends Base {
        @Parameters(paramLabel = "NAME")
        String name;

        @Override
        void run(ManagementClient api, PrintWriter out) throws Exception {
            api.send("PUT", "/api/vhosts/" + ManagementClient.segment(name), Map.of());
            printJsonOr(
                    target.json ? api.get("/api/vhosts/" + ManagementClient.segment(name)) : null,
                    "vhost '" + name + "' created",
                    out);
        }
    }

    @Command(
            name = "delete-vhost",
            mixinStandardHelpOptions = true,
            description = "Delete a virtual host with all its queues, exchanges and messages.")
    static final class DeleteVhost extends Base {
        @Parameters(paramLabel = "NAME")
        String name;

        @Override
        void run(ManagementClient api, PrintWriter out) throws Exception {
            api.send("DELETE", "/api/vhosts/" + ManagementClient.segment(name), null);
            printJsonOr(null, "vhost '" + name + "' deleted", out);
        }
    }

    static String bindingPath(String vhost, String source, String destinationType, String destination) {
        if (source == null || destination == null) {
            throw new IllegalArgumentException("a binding needs --source and --destination");
        }
        String kind =
                switch (destinationType) {
                    case "queue" -> "q";
                    case "exchange" -> "e";
                    default -> throw new IllegalArgumentException("--destination-type must be queue or exchange");
                };
        return "/api/bindings/" + vhost + "/e/" + ManagementClient.segment(source.isEmpty() ? "amq.default" : source)
                + "/" + kind + "/" + ManagementClient.segment(destination);
    }

    /** key=value pairs as JSON values: integers, true/false, or strings. */
    static Map<String, Object> parseArguments(List<String> pairs) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (String pair : pairs) {
            int eq = pair.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("expected key=value, got '" + pair + "'");
            }
            String value = pair.substring(eq + 1);
            Object parsed;
            if (value.equals("true") || value.equals("false")) {
                parsed = Boolean.parseBoolean(value);
            } else if (value.matches("-?\\d{1,18}")) {
                parsed = Long.parseLong(value);
            } else {
                parsed = value;
            }
            out.put(pair.substring(0, eq), parsed);
        }
        return out;
    }
}
