package dev.courier.server.management;

import dev.courier.broker.AmqpException;
import dev.courier.broker.Binding;
import dev.courier.broker.Broker;
import dev.courier.broker.Consumer;
import dev.courier.broker.Delivery;
import dev.courier.broker.Exchange;
import dev.courier.broker.GetResult;
import dev.courier.broker.Message;
import dev.courier.broker.MessageQueue;
import dev.courier.broker.QueueStats;
import dev.courier.broker.VirtualHost;
import dev.courier.cluster.QuorumQueues;
import dev.courier.cluster.raft.ClusterStatus;
import dev.courier.protocol.AmqpConstants;
import dev.courier.protocol.BasicProperties;
import dev.courier.server.ResourceAlarms;
import dev.courier.server.ServerConfig;
import dev.courier.server.amqp.ConnectionInfo;
import dev.courier.server.amqp.ManagedConnection;
import dev.courier.server.amqp.ServerProperties;
import dev.courier.server.auth.Permission;
import dev.courier.server.auth.Permission.Access;
import dev.courier.server.auth.User;
import dev.courier.server.auth.UserDatabase;
import dev.courier.store.BlobReader;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.IntSupplier;
import java.util.function.Supplier;

/**
 * The management API's resources, with RabbitMQ's paths and JSON field names (see DESIGN.md):
 * overview, nodes, vhosts, exchanges, queues, bindings, connections, channels, consumers, users,
 * permissions, plus publish/get/purge for debugging and {@code move} (DLQ redrive, a Courier
 * extension). Runs on the management executor, never on an event loop: it may wait for queue
 * actors and connections, each wait bounded.
 */
final class ManagementApi {
    /** How RabbitMQ's management API names the default exchange (whose name is empty) in paths. */
    private static final String DEFAULT_EXCHANGE_ALIAS = "amq.default";

    /** Longest wait for a queue actor or a connection to answer. */
    private static final long ANSWER_TIMEOUT_MS = 5_000;

    private final ServerConfig config;
    private final Broker broker;
    private final Set<Object> connections;
    private final UserDatabase users;
    private final StatsSampler stats;
    private final IntSupplier amqpPort;
    private final String nodeName;
    private final long startedAtMs = System.currentTimeMillis();
    /** Why publishers are blocked (memory or disk watermark), or null. */
    private final Supplier<String> alarm;

    ManagementApi(
            ServerConfig config,
            Broker broker,
            UserDatabase users,
            Set<Object> connections,
            StatsSampler stats,
            Supplier<String> alarm,
            IntSupplier amqpPort) {
        this.alarm = alarm;
        this.config = config;
        this.users = users;
        this.broker = broker;
        this.connections = connections;
        this.stats = stats;
        this.amqpPort = amqpPort;
        this.nodeName = config.cluster().enabled() ? config.cluster().nodeId() : "courier@" + hostName();
    }

    /** One HTTP request, its path split into decoded segments after {@code /api}. */
    record Request(String method, List<String> path, Map<String, List<String>> query, Object body, String user) {
        String segment(int i) {
            return i < path.size() ? path.get(i) : null;
        }

        boolean flag(String name) {
            List<String> values = query.get(name);
            return values != null && !values.isEmpty() && "true".equals(values.get(0));
        }
    }

    /** An answer: status, a JSON value (null for no body) and an optional Location header. */
    record Response(int status, Object body, String location) {
        static Response ok(Object body) {
            return new Response(200, body, null);
        }

        static Response created(String location) {
            return new Response(201, null, location);
        }

        static Response noContent() {
            return new Response(204, null, null);
        }
    }

    Response handle(Request request) {
        User user = users.user(request.user());
        if (user == null) {
            throw new ApiException(401, "not_authorised", "Login failed");
        }
        try {
            authorize(request, user);
            Response response = route(request);
            return response.body() == null
                    ? response
                    : new Response(response.status(), visibleTo(user, request, response.body()), response.location());
        } catch (AmqpException e) {
            throw fromAmqp(e);
        }
    }

    private Response route(Request r) {
        String resource = r.segment(0);
        if (resource == null) {
            throw ApiException.notFound("Not Found");
        }
        return switch (resource) {
            case "overview" -> get(r, this::overview);
            case "whoami" -> get(r, () -> userJson(existingUser(r.user())));
            case "nodes" -> get(r, () -> r.segment(1) == null ? nodes() : single(nodes(), r.segment(1)));
            case "vhosts" -> vhostsResource(r);
            case "users" -> usersResource(r);
            case "permissions" -> permissionsResource(r);
            case "exchanges" -> exchanges(r);
            case "queues" -> queues(r);
            case "bindings" -> bindings(r);
            case "connections" -> connections(r);
            case "channels" -> get(r, () -> r.segment(1) == null ? channels() : channel(r));
            case "consumers" -> get(r, () -> consumers(r.segment(1)));
            default -> throw ApiException.notFound("Not Found");
        };
    }

    private static Response get(Request r, java.util.function.Supplier<Object> answer) {
        if (!r.method().equals("GET")) {
            throw ApiException.methodNotAllowed(r.method(), "/api/" + String.join("/", r.path()));
        }
        return Response.ok(answer.get());
    }

    // ---------------------------------------------------------------- overview, nodes, users

    private Object overview() {
        long ready = 0;
        long unacked = 0;
        int queues = 0;
        int exchanges = 0;
        int consumers = 0;
        long[] totals = new long[QueueStats.counters().length];
        double[] rates = new double[totals.length];
        for (VirtualHost vhost : broker.vhosts()) {
            exchanges += vhost.exchanges().size();
            for (MessageQueue queue : vhost.queues()) {
                queues++;
                ready += queue.messageCount();
                unacked += queue.stats().unacked();
                consumers += queue.consumerCount();
                long[] counts = StatsSampler.counts(queue);
                double[] queueRates = stats.rates(queue);
                for (int i = 0; i < totals.length; i++) {
                    totals[i] += counts[i];
                    rates[i] += queueRates[i];
                }
            }
        }
        List<ConnectionInfo> open = openConnections();
        int channels = open.stream().mapToInt(c -> c.channels().size()).sum();
        Map<String, Object> messageStats = StatsSampler.messageStats(totals, rates);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("management_version", ServerProperties.VERSION);
        out.put("product_name", "Courier");
        out.put("product_version", ServerProperties.VERSION);
        out.put("rabbitmq_version", "3.13.0"); // what clients that check the version should assume
        out.put("cluster_name", nodeName);
        out.put("node", nodeName);
        out.put("message_stats", messageStats);
        out.put(
                "queue_totals",
                Map.of("messages", ready + unacked, "messages_ready", ready, "messages_unacknowledged", unacked));
        out.put(
                "object_totals",
                Map.of(
                        "connections", open.size(),
                        "channels", channels,
                        "exchanges", exchanges,
                        "queues", queues,
                        "consumers", consumers));
        out.put("listeners", listeners());
        return out;
    }

    private List<Object> listeners() {
        List<Object> out = new ArrayList<>();
        out.add(Map.of(
                "node", nodeName, "protocol", "amqp", "ip_address", config.bindAddress(), "port", amqpPort.getAsInt()));
        return out;
    }

    private Map<String, Object> node() {
        Runtime runtime = Runtime.getRuntime();
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("name", nodeName);
        out.put("type", "disc");
        out.put("running", true);
        out.put("uptime", System.currentTimeMillis() - startedAtMs);
        out.put("processors", runtime.availableProcessors());
        out.put("mem_used", runtime.totalMemory() - runtime.freeMemory());
        out.put("mem_limit", (long) (runtime.maxMemory() * config.memoryHighWatermark()));
        out.put("disk_free_limit", config.diskFreeLimitBytes());
        String raised = alarm.get();
        out.put("mem_alarm", ResourceAlarms.isMemoryAlarm(raised));
        out.put("disk_free_alarm", ResourceAlarms.isDiskAlarm(raised));
        out.put("alarm", raised);
        out.put("run_queue", 0);
        out.put("os_pid", Long.toString(ProcessHandle.current().pid()));
        out.put("jvm", Runtime.version().toString());
        out.put("threads", ManagementFactory.getThreadMXBean().getThreadCount());
        QuorumQueues cluster = broker.quorumQueues().clusterOrNull();
        if (cluster != null) {
            List<Map<String, Object>> groups = new ArrayList<>();
            for (ClusterStatus.GroupStatus group : cluster.raft().status().groups()) {
                Map<String, Object> g = new LinkedHashMap<>();
                g.put("name", group.group());
                g.put("role", group.role().toLowerCase(java.util.Locale.ROOT));
                g.put("leader", group.leader().orElse(null));
                g.put("term", group.term());
                g.put("commit_index", group.commitIndex());
                g.put("applied_index", group.appliedIndex());
                g.put("peers_up", group.peersUp());
                g.put("proposed_entries", group.proposedEntries()); // commands per entry = batching
                g.put("proposed_commands", group.proposedCommands());
                g.put("applied_entries", group.appliedEntries());
                g.put("applied_commands", group.appliedCommands());
                groups.add(g);
            }
            out.put("raft_groups", groups); // Courier's own: this node's replicas of the queue groups
        }
        return out;
    }

    /**
     * This node with its details and, in a cluster, the other members: running when this node's
     * Raft groups hear from them (every group for its leader; a follower knows only its leaders).
     */
    private List<Map<String, Object>> nodes() {
        List<Map<String, Object>> out = new ArrayList<>();
        out.add(node());
        QuorumQueues cluster = broker.quorumQueues().clusterOrNull();
        if (cluster != null) {
            Set<String> up = new java.util.HashSet<>();
            for (ClusterStatus.GroupStatus group : cluster.raft().status().groups()) {
                up.addAll(group.peersUp());
            }
            for (String member : cluster.members()) {
                if (!member.equals(nodeName)) {
                    Map<String, Object> other = new LinkedHashMap<>();
                    other.put("name", member);
                    other.put("type", "disc");
                    other.put("running", up.contains(member));
                    out.add(other);
                }
            }
        }
        return out;
    }

    private Object single(List<Map<String, Object>> items, String name) {
        for (Map<String, Object> item : items) {
            if (item.get("name").equals(name)) {
                return item;
            }
        }
        throw ApiException.notFound("Object Not Found");
    }

    private Map<String, Object> userJson(User user) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("name", user.name());
        out.put("tags", user.tags());
        return out;
    }

    private User existingUser(String name) {
        User user = users.user(name);
        if (user == null) {
            throw ApiException.notFound("no user '" + name + "'");
        }
        return user;
    }

    /** /api/users[/{name}[/permissions]]: GET; PUT creates or changes a user, DELETE removes it. */
    private Response usersResource(Request r) {
        String name = r.segment(1);
        if (name == null) {
            return get(r, () -> users.users().stream().map(this::userJson).toList());
        }
        if ("permissions".equals(r.segment(2))) {
            existingUser(name);
            return get(r, () -> users.permissions().stream()
                    .filter(p -> p.user().equals(name))
                    .map(this::permissionJson)
                    .toList());
        }
        return switch (r.method()) {
            case "GET" -> Response.ok(userJson(existingUser(name)));
            case "PUT" -> {
                Map<String, Object> body = body(r);
                List<String> tags = tags(body.get("tags"));
                String password = string(body, "password", null);
                boolean existed = users.user(name) != null;
                if (password != null) {
                    users.putUser(name, password, tags);
                } else if ("".equals(body.get("password_hash"))) {
                    // RabbitMQ: an empty hash makes (or turns an existing user into) a user that
                    // cannot log in with a password
                    users.putUser(name, null, tags);
                } else if (existed) {
                    users.retag(name, tags);
                } else {
                    throw ApiException.badRequest("a new user needs a \"password\"");
                }
                yield existed ? Response.noContent() : Response.created(null);
            }
            case "DELETE" -> {
                if (!users.deleteUser(name)) {
                    throw ApiException.notFound("no user '" + name + "'");
                }
                yield Response.noContent();
            }
            default -> throw ApiException.methodNotAllowed(r.method(), "a user");
        };
    }

    /** RabbitMQ sends tags as one comma-separated string; a JSON list is accepted too. */
    private static List<String> tags(Object value) {
        if (value == null) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        if (value instanceof List<?> list) {
            list.forEach(t -> out.add(String.valueOf(t).trim()));
        } else {
            for (String tag : value.toString().split(",")) {
                if (!tag.isBlank()) {
                    out.add(tag.trim());
                }
            }
        }
        return out;
    }

    private Map<String, Object> permissionJson(Permission p) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("user", p.user());
        out.put("vhost", p.vhost());
        out.put("configure", p.configure());
        out.put("write", p.write());
        out.put("read", p.read());
        return out;
    }

    /** /api/permissions[/{vhost}[/{user}]]. */
    private Response permissionsResource(Request r) {
        String vhostName = r.segment(1);
        String user = r.segment(2);
        if (vhostName == null) {
            return get(
                    r,
                    () -> users.permissions().stream().map(this::permissionJson).toList());
        }
        vhost(vhostName);
        if (user == null) {
            return get(r, () -> users.permissions().stream()
                    .filter(p -> p.vhost().equals(vhostName))
                    .map(this::permissionJson)
                    .toList());
        }
        existingUser(user);
        return switch (r.method()) {
            case "GET" -> {
                Permission p = users.permission(vhostName, user);
                if (p == null) {
                    throw ApiException.notFound("user '" + user + "' has no permissions on vhost '" + vhostName + "'");
                }
                yield Response.ok(permissionJson(p));
            }
            case "PUT" -> {
                Map<String, Object> body = body(r);
                boolean existed = users.permission(vhostName, user) != null;
                try {
                    users.setPermission(new Permission(
                            user,
                            vhostName,
                            string(body, "configure", ""),
                            string(body, "write", ""),
                            string(body, "read", "")));
                } catch (IllegalArgumentException e) {
                    throw ApiException.badRequest(e.getMessage());
                }
                yield existed ? Response.noContent() : Response.created(null);
            }
            case "DELETE" -> {
                if (!users.clearPermission(vhostName, user)) {
                    throw ApiException.notFound("user '" + user + "' has no permissions on vhost '" + vhostName + "'");
                }
                yield Response.noContent();
            }
            default -> throw ApiException.methodNotAllowed(r.method(), "a permission");
        };
    }

    // ---------------------------------------------------------------- authorization

    /** RabbitMQ's 401 answers to a user with the wrong tags or no access to what a request names. */
    private static final String NOT_ADMINISTRATOR = "Not administrator user";

    private static final String NOT_MONITOR = "Not monitor user";
    private static final String NO_VHOST_ACCESS = "User not authorised to access virtual host";
    private static final String NO_OBJECT_ACCESS = "User not authorised to access object";

    private static ApiException notAuthorised(String reason) {
        return new ApiException(401, "not_authorised", reason);
    }

    /** RabbitMQ: {@code administrator} implies {@code monitoring}. */
    private static boolean isMonitor(User user) {
        return user.hasTag(User.ADMINISTRATOR) || user.hasTag(User.MONITORING);
    }

    /**
     * RabbitMQ's management tags, checked before the request runs: {@code administrator} may do
     * anything; {@code monitoring} may also read every vhost's objects and the nodes;
     * {@code management} (and {@code policymaker}) only the vhosts it has permissions in. Users,
     * permissions and vhost changes are administrator-only (reading oneself excepted).
     * Connections and channels are checked per object once found ({@link #checkOwner}): their
     * owner or a monitor may read them, only their owner or an administrator close them.
     */
    private void authorize(Request r, User user) {
        if (user.hasTag(User.ADMINISTRATOR)) {
            return;
        }
        String resource = r.segment(0);
        boolean reading = r.method().equals("GET");
        if (resource == null) {
            return;
        }
        switch (resource) {
            case "whoami", "overview", "connections", "channels" -> {
                // overview: totals only; connections and channels: per object, see checkOwner
            }
            case "nodes" -> {
                if (!isMonitor(user)) {
                    throw notAuthorised(NOT_MONITOR);
                }
            }
            case "users", "permissions" -> {
                boolean self =
                        "users".equals(resource) && user.name().equals(r.segment(1)) && r.segment(2) == null && reading;
                if (!self) {
                    throw notAuthorised(NOT_ADMINISTRATOR);
                }
            }
            case "vhosts" -> {
                if (!reading) {
                    throw notAuthorised(NOT_ADMINISTRATOR);
                }
                checkVhost(r.segment(1), user, true);
            }
            // /api/{exchanges,queues,bindings,consumers}/{vhost}/...: a monitor may read any vhost,
            // everyone else needs permissions in it, also to change things
            default -> {
                checkVhost(r.segment(1), user, reading);
                if (!reading) {
                    checkResources(r, user);
                }
            }
        }
    }

    /**
     * What an operation does to exchanges and queues needs the same configure/write/read
     * permission as the AMQP method it stands for: declare and delete need configure, publish
     * write on the exchange, get and purge read on the queue, moving messages out read on the
     * source queue, a binding write on its destination and read on its source.
     */
    private void checkResources(Request r, User user) {
        String vhostName = r.segment(1);
        String name = r.segment(2);
        if (vhostName == null || name == null || broker.vhost(vhostName) == null) {
            return;
        }
        Permission permission = users.permission(vhostName, user.name());
        String sub = r.segment(3);
        switch (r.segment(0)) {
            case "exchanges" -> {
                String exchange = name.equals(DEFAULT_EXCHANGE_ALIAS) ? "" : name;
                if (sub == null) {
                    requireAccess(permission, Access.CONFIGURE, "exchange", exchange, vhostName, user);
                } else if (sub.equals("publish")) {
                    requireAccess(permission, Access.WRITE, "exchange", exchange, vhostName, user);
                }
            }
            case "queues" -> {
                if (sub == null) {
                    requireAccess(permission, Access.CONFIGURE, "queue", name, vhostName, user);
                } else if (sub.equals("contents") || sub.equals("get") || sub.equals("move")) {
                    requireAccess(permission, Access.READ, "queue", name, vhostName, user);
                }
            }
            case "bindings" -> {
                // /api/bindings/{vhost}/e/{source}/{q|e}/{destination}[/{props}]
                String source = r.segment(3);
                String kind = r.segment(4);
                String destination = r.segment(5);
                if ("e".equals(name)
                        && source != null
                        && destination != null
                        && ("q".equals(kind) || "e".equals(kind))) {
                    requireAccess(
                            permission,
                            Access.WRITE,
                            "q".equals(kind) ? "queue" : "exchange",
                            destination,
                            vhostName,
                            user);
                    requireAccess(permission, Access.READ, "exchange", source, vhostName, user);
                }
            }
            default -> {
                // nothing changes exchanges or queues
            }
        }
    }

    private static void requireAccess(
            Permission permission, Access access, String kind, String name, String vhost, User user) {
        if (permission == null || !permission.allows(access, name)) {
            throw notAuthorised(Permission.refusal(access, kind, name, vhost, user.name()));
        }
    }

    /**
     * 401 unless the user may see (reading) or change objects of {@code vhostName}; an unknown
     * vhost passes, so that the request answers 404 as RabbitMQ's does.
     */
    private void checkVhost(String vhostName, User user, boolean reading) {
        if (vhostName == null || broker.vhost(vhostName) == null) {
            return;
        }
        if (reading && isMonitor(user)) {
            return;
        }
        if (users.permission(vhostName, user.name()) == null) {
            throw notAuthorised(NO_VHOST_ACCESS);
        }
    }

    /**
     * A connection or channel of another user: a monitor may read it, only an administrator
     * close it (RabbitMQ's rule for connections and channels: a user always sees its own).
     */
    private void checkOwner(Request r, ConnectionInfo connection) {
        User user = users.user(r.user());
        if (user == null || user.hasTag(User.ADMINISTRATOR) || user.name().equals(connection.user())) {
            return;
        }
        if (!r.method().equals("GET") || !isMonitor(user)) {
            throw notAuthorised(NO_OBJECT_ACCESS);
        }
    }

    /**
     * For users who may not see everything, drops list items they may not see: connections and
     * channels of other users unless a monitor; objects of vhosts they have no permissions in
     * unless a monitor (for consumers the vhost is their queue's, for vhosts their name).
     */
    private Object visibleTo(User user, Request r, Object answer) {
        if (user.hasTag(User.ADMINISTRATOR) || !(answer instanceof List<?> list)) {
            return answer;
        }
        String resource = r.segment(0);
        boolean ownOnly = "connections".equals(resource) || "channels".equals(resource);
        if (isMonitor(user)) {
            return answer;
        }
        List<Object> out = new ArrayList<>();
        for (Object item : list) {
            if (!(item instanceof Map<?, ?> map)) {
                out.add(item);
                continue;
            }
            if (ownOnly) {
                if (user.name().equals(map.get("user"))) {
                    out.add(item);
                }
                continue;
            }
            Object vhost = map.get("vhost");
            if ("vhosts".equals(resource)) {
                vhost = map.get("name");
            } else if ("consumers".equals(resource) && map.get("queue") instanceof Map<?, ?> queue) {
                vhost = queue.get("vhost");
            }
            if (vhost == null || users.permission(vhost.toString(), user.name()) != null) {
                out.add(item);
            }
        }
        return out;
    }

    // ---------------------------------------------------------------- vhosts

    private VirtualHost vhost(String name) {
        VirtualHost vhost = broker.vhost(name);
        if (vhost == null) {
            throw ApiException.notFound("vhost '" + name + "' not found");
        }
        return vhost;
    }

    /** /api/vhosts[/{name}]: GET; PUT creates (the creator gets full permissions, as in RabbitMQ); DELETE. */
    private Response vhostsResource(Request r) {
        String name = r.segment(1);
        if (name == null) {
            return get(r, this::vhosts);
        }
        return switch (r.method()) {
            case "GET" -> Response.ok(vhostJson(vhost(name)));
            case "PUT" -> {
                boolean existed = broker.vhost(name) != null;
                try {
                    broker.addVhost(name).maxQueues(config.maxQueues());
                } catch (IllegalArgumentException e) {
                    throw ApiException.badRequest(e.getMessage());
                }
                if (!existed && users.permission(name, r.user()) == null) {
                    users.setPermission(new Permission(r.user(), name, Permission.ALL, Permission.ALL, Permission.ALL));
                }
                yield existed ? Response.noContent() : Response.created(null);
            }
            case "DELETE" -> {
                vhost(name);
                Set<String> onVhost = new java.util.HashSet<>();
                for (ConnectionInfo info : openConnections()) {
                    if (info.vhost().equals(name)) {
                        onVhost.add(info.name());
                    }
                }
                forceClose(onVhost, "vhost '" + name + "' is deleted");
                await(broker.deleteVhost(name));
                for (Permission p : users.permissions()) {
                    if (p.vhost().equals(name)) {
                        users.clearPermission(name, p.user());
                    }
                }
                yield Response.noContent();
            }
            default -> throw ApiException.methodNotAllowed(r.method(), "a vhost");
        };
    }

    private List<Object> vhosts() {
        List<Object> out = new ArrayList<>();
        broker.vhosts().stream()
                .sorted(Comparator.comparing(VirtualHost::name))
                .forEach(vhost -> out.add(vhostJson(vhost)));
        return out;
    }

    private Map<String, Object> vhostJson(VirtualHost vhost) {
        long ready = 0;
        long unacked = 0;
        for (MessageQueue queue : vhost.queues()) {
            ready += queue.messageCount();
            unacked += queue.stats().unacked();
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("name", vhost.name());
        out.put("description", vhost.name().equals("/") ? "Default virtual host" : "");
        out.put("tags", List.of());
        out.put("tracing", false);
        out.put("messages", ready + unacked);
        out.put("messages_ready", ready);
        out.put("messages_unacknowledged", unacked);
        return out;
    }

    // ---------------------------------------------------------------- exchanges

    private Response exchanges(Request r) {
        String vhostName = r.segment(1);
        String name = r.segment(2);
        String sub = r.segment(3);
        if (vhostName == null) {
            return get(r, () -> allVhosts(v -> exchangesOf(v)));
        }
        VirtualHost vhost = vhost(vhostName);
        if (name == null) {
            return get(r, () -> exchangesOf(vhost));
        }
        if (name.equals(DEFAULT_EXCHANGE_ALIAS)) {
            name = "";
        }
        if (sub == null) {
            return switch (r.method()) {
                case "GET" -> Response.ok(exchangeJson(vhost, existingExchange(vhost, name)));
                case "PUT" -> declareExchange(vhost, name, r);
                case "DELETE" -> {
                    existingExchange(vhost, name);
                    await(vhost.deleteExchange(name, r.flag("if-unused")));
                    yield Response.noContent();
                }
                default -> throw ApiException.methodNotAllowed(r.method(), "an exchange");
            };
        }
        Exchange exchange = existingExchange(vhost, name);
        if (sub.equals("publish") && r.method().equals("POST")) {
            return Response.ok(Map.of("routed", publish(vhost, exchange, body(r))));
        }
        if (sub.equals("bindings") && "source".equals(r.segment(4))) {
            return get(r, () -> bindingsJson(vhost, exchange.bindings()));
        }
        if (sub.equals("bindings") && "destination".equals(r.segment(4))) {
            return get(
                    r,
                    () -> bindingsJson(
                            vhost,
                            vhost.bindings().stream()
                                    .filter(b -> b.destination() == exchange)
                                    .toList()));
        }
        throw ApiException.notFound("Not Found");
    }

    private static Exchange existingExchange(VirtualHost vhost, String name) {
        Exchange exchange = vhost.exchange(name);
        if (exchange == null) {
            throw ApiException.notFound("no exchange '" + name + "' in vhost '" + vhost.name() + "'");
        }
        return exchange;
    }

    private List<Object> exchangesOf(VirtualHost vhost) {
        List<Object> out = new ArrayList<>();
        vhost.exchanges().stream()
                .sorted(Comparator.comparing(Exchange::name))
                .forEach(e -> out.add(exchangeJson(vhost, e)));
        return out;
    }

    private Map<String, Object> exchangeJson(VirtualHost vhost, Exchange exchange) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("name", exchange.name());
        out.put("vhost", vhost.name());
        out.put("type", exchange.type());
        out.put("durable", exchange.durable());
        out.put("auto_delete", exchange.autoDelete());
        out.put("internal", exchange.internal());
        out.put("arguments", JsonValues.toJson(exchange.arguments()));
        return out;
    }

    private Response declareExchange(VirtualHost vhost, String name, Request r) {
        Map<String, Object> body = body(r);
        Object type = body.get("type");
        if (!(type instanceof String typeName)) {
            throw ApiException.badRequest("an exchange needs a \"type\": direct, fanout, topic or headers");
        }
        boolean existed = vhost.exchange(name) != null;
        await(vhost.declareExchange(
                name,
                typeName,
                false,
                bool(body, "durable", true),
                bool(body, "auto_delete", false),
                bool(body, "internal", false),
                JsonValues.toTable(body.get("arguments"), "arguments")));
        return existed ? Response.noContent() : Response.created(null);
    }

    /** POST /api/exchanges/{vhost}/{name}/publish: answers whether any queue took the message. */
    private boolean publish(VirtualHost vhost, Exchange exchange, Map<String, Object> body) {
        String routingKey = string(body, "routing_key", "");
        String payload = string(body, "payload", "");
        String encoding = string(body, "payload_encoding", "string");
        byte[] bytes =
                switch (encoding) {
                    case "string" -> payload.getBytes(StandardCharsets.UTF_8);
                    case "base64" -> {
                        try {
                            yield Base64.getDecoder().decode(payload);
                        } catch (IllegalArgumentException e) {
                            throw ApiException.badRequest("payload is not valid base64");
                        }
                    }
                    default -> throw ApiException.badRequest("payload_encoding must be \"string\" or \"base64\"");
                };
        if (bytes.length > config.maxMessageSizeBytes()) {
            throw ApiException.badRequest(
                    "message size " + bytes.length + " is larger than the maximum " + config.maxMessageSizeBytes());
        }
        BasicProperties properties = properties(JsonValues.toTable(body.get("properties"), "properties"));
        ByteBuf raw = Unpooled.buffer();
        properties.encode(raw);
        Message message = new Message(exchange.name(), routingKey, raw, Unpooled.wrappedBuffer(bytes));
        try {
            List<MessageQueue> targets = new ArrayList<>();
            vhost.route(exchange.name(), routingKey, message, targets);
            if (targets.isEmpty()) {
                return false;
            }
            CompletableFuture<Boolean> taken = new CompletableFuture<>();
            java.util.concurrent.atomic.AtomicInteger answers =
                    new java.util.concurrent.atomic.AtomicInteger(targets.size());
            java.util.concurrent.atomic.AtomicBoolean any = new java.util.concurrent.atomic.AtomicBoolean();
            vhost.enqueue(
                    message,
                    targets,
                    accepted -> { // once per queue, on queue threads
                        if (accepted) {
                            any.set(true);
                        }
                        if (answers.decrementAndGet() == 0) {
                            taken.complete(any.get());
                        }
                    });
            return await(taken);
        } finally {
            message.release();
        }
    }

    private static BasicProperties properties(Map<String, Object> p) {
        Object headers = p.get("headers");
        Object timestamp = p.get("timestamp");
        return new BasicProperties(
                str(p.get("content_type")),
                str(p.get("content_encoding")),
                headers instanceof Map<?, ?> ? castTable(headers) : null,
                integer(p.get("delivery_mode")),
                integer(p.get("priority")),
                str(p.get("correlation_id")),
                str(p.get("reply_to")),
                str(p.get("expiration")),
                str(p.get("message_id")),
                timestamp instanceof Number n ? Instant.ofEpochSecond(n.longValue()) : null,
                str(p.get("type")),
                str(p.get("user_id")),
                str(p.get("app_id")),
                str(p.get("cluster_id")));
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> castTable(Object table) {
        return (Map<String, Object>) table;
    }

    private static String str(Object value) {
        return value == null ? null : value.toString();
    }

    private static Integer integer(Object value) {
        if (value == null) {
            return null;
        }
        if (value instanceof Number n) {
            return n.intValue();
        }
        throw ApiException.badRequest("expected a number, got " + value);
    }

    // ---------------------------------------------------------------- queues

    private Response queues(Request r) {
        String vhostName = r.segment(1);
        String name = r.segment(2);
        String sub = r.segment(3);
        if (vhostName == null) {
            return get(r, () -> allVhosts(v -> queuesOf(v)));
        }
        VirtualHost vhost = vhost(vhostName);
        if (name == null) {
            return get(r, () -> queuesOf(vhost));
        }
        if (sub == null) {
            return switch (r.method()) {
                case "GET" -> Response.ok(queueDetail(existingQueue(vhost, name)));
                case "PUT" -> declareQueue(vhost, name, r);
                case "DELETE" -> {
                    existingQueue(vhost, name);
                    await(vhost.deleteQueue(name, r.flag("if-unused"), r.flag("if-empty"), null));
                    yield Response.noContent();
                }
                default -> throw ApiException.methodNotAllowed(r.method(), "a queue");
            };
        }
        MessageQueue queue = existingQueue(vhost, name);
        return switch (sub) {
            case "contents" -> {
                if (!r.method().equals("DELETE")) {
                    throw ApiException.methodNotAllowed(r.method(), "a queue's contents");
                }
                await(vhost.purgeQueue(name, null));
                yield Response.noContent();
            }
            case "get" -> {
                if (!r.method().equals("POST")) {
                    throw ApiException.methodNotAllowed(r.method(), "get");
                }
                yield Response.ok(getMessages(queue, body(r)));
            }
            case "move" -> {
                if (!r.method().equals("POST")) {
                    throw ApiException.methodNotAllowed(r.method(), "move");
                }
                Map<String, Object> body = body(r);
                String destination = string(body, "destination", null);
                if (destination == null) {
                    throw ApiException.badRequest("move needs a \"destination\" queue");
                }
                existingQueue(vhost, destination);
                Object max = body.get("max");
                int limit = max == null ? Integer.MAX_VALUE : integer(max);
                if (limit < 0) {
                    throw ApiException.badRequest("max must not be negative");
                }
                int moved = await(vhost.moveMessages(name, destination, limit, null));
                yield Response.ok(Map.of("moved", moved));
            }
            case "bindings" ->
                get(r, () -> {
                    List<Object> out = new ArrayList<>();
                    out.add(defaultBindingJson(vhost, queue.name()));
                    out.addAll(bindingsJson(
                            vhost,
                            vhost.bindings().stream()
                                    .filter(b -> b.destination() == queue)
                                    .toList()));
                    return out;
                });
            case "history" -> get(r, () -> history(queue));
            default -> throw ApiException.notFound("Not Found");
        };
    }

    private static MessageQueue existingQueue(VirtualHost vhost, String name) {
        MessageQueue queue = vhost.findQueue(name);
        if (queue == null) {
            throw ApiException.notFound("no queue '" + name + "' in vhost '" + vhost.name() + "'");
        }
        return queue;
    }

    private List<Object> queuesOf(VirtualHost vhost) {
        List<Object> out = new ArrayList<>();
        List<MessageQueue> queues = new ArrayList<>(vhost.queues());
        refreshCounts(queues);
        queues.stream().sorted(Comparator.comparing(MessageQueue::name)).forEach(q -> out.add(queueJson(q)));
        return out;
    }

    /**
     * Asks for the counts of queues that live on other nodes of a cluster, waiting at most a
     * second for them all (a node that does not answer leaves its queues' last counts). Blocks: the
     * API's own threads only.
     */
    private static void refreshCounts(List<MessageQueue> queues) {
        CompletableFuture<?>[] asked =
                queues.stream().map(MessageQueue::refreshCounts).toArray(CompletableFuture<?>[]::new);
        try {
            CompletableFuture.allOf(asked).get(1, TimeUnit.SECONDS);
        } catch (ExecutionException | TimeoutException e) {
            // listed with the counts last heard
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private Map<String, Object> queueJson(MessageQueue queue) {
        QueueStats queueStats = queue.stats();
        int ready = queue.messageCount();
        int unacked = queueStats.unacked();
        long readyBytes = queueStats.readyBytes();
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("name", queue.name());
        out.put("vhost", queue.vhost().name());
        out.put("type", queue.type());
        out.put("durable", queue.durable());
        out.put("auto_delete", queue.autoDelete());
        out.put("exclusive", queue.exclusive());
        out.put("arguments", JsonValues.toJson(queue.arguments()));
        String leader = queue.leaderNode();
        out.put("node", leader == null ? nodeName : leader);
        if (!queue.memberNodes().isEmpty()) {
            out.put("leader", leader); // RabbitMQ's fields for quorum queues
            out.put("members", queue.memberNodes());
        }
        out.put("state", "running");
        out.put("consumers", queue.consumerCount());
        out.put("messages", ready + unacked);
        out.put("messages_ready", ready);
        out.put("messages_unacknowledged", unacked);
        out.put("messages_ram", queue.residentMessageCount() + unacked);
        out.put("messages_paged_out", ready - queue.residentMessageCount());
        out.put("message_bytes_ready", readyBytes);
        out.put("memory", memoryEstimate(queue, ready, readyBytes));
        Map<String, Object> messageStats = stats.messageStats(queue);
        out.put("message_stats", messageStats);
        double publishRate = stats.rate(queue, QueueStats.Counter.PUBLISH);
        double outRate = ((Number) ((Map<?, ?>) messageStats.get("deliver_get_details")).get("rate")).doubleValue();
        out.put("messages_details", Map.of("rate", publishRate - outRate));
        return out;
    }

    /**
     * Heap held by a queue, estimated: an index entry per ready message (about 120 bytes) plus the
     * bodies of the resident ones (paged-out bodies are on disk only).
     */
    private static long memoryEstimate(MessageQueue queue, int ready, long readyBytes) {
        int resident = queue.residentMessageCount();
        long residentBytes = ready == 0 ? 0 : readyBytes * resident / ready;
        return 1024 + 120L * ready + residentBytes;
    }

    private Map<String, Object> queueDetail(MessageQueue queue) {
        refreshCounts(List.of(queue));
        Map<String, Object> out = queueJson(queue);
        List<Object> consumerDetails = new ArrayList<>();
        for (Map<String, Object> consumer : consumersOf(queue)) {
            consumerDetails.add(consumer);
        }
        out.put("consumer_details", consumerDetails);
        return out;
    }

    private Response declareQueue(VirtualHost vhost, String name, Request r) {
        Map<String, Object> body = body(r);
        boolean existed = vhost.findQueue(name) != null;
        await(vhost.declareQueue(
                name,
                false,
                bool(body, "durable", true),
                false,
                bool(body, "auto_delete", false),
                JsonValues.toTable(body.get("arguments"), "arguments"),
                null));
        return existed ? Response.noContent() : Response.created(null);
    }

    /**
     * POST /api/queues/{vhost}/{name}/get with RabbitMQ's {@code count}, {@code ackmode}
     * ({@code ack_requeue_true}, {@code ack_requeue_false}, {@code reject_requeue_true},
     * {@code reject_requeue_false}), {@code encoding} ({@code auto} or {@code base64}) and
     * {@code truncate}.
     */
    private List<Object> getMessages(MessageQueue queue, Map<String, Object> body) {
        Object countValue = body.getOrDefault("count", 1);
        int count = integer(countValue);
        String ackMode = string(body, "ackmode", "ack_requeue_true");
        boolean requeue =
                switch (ackMode) {
                    case "ack_requeue_true", "reject_requeue_true" -> true;
                    case "ack_requeue_false", "reject_requeue_false" -> false;
                    default ->
                        throw ApiException.badRequest("ackmode must be ack_requeue_true, ack_requeue_false, "
                                + "reject_requeue_true or reject_requeue_false");
                };
        boolean dead = ackMode.startsWith("reject");
        String encoding = string(body, "encoding", "auto");
        if (!encoding.equals("auto") && !encoding.equals("base64")) {
            throw ApiException.badRequest("encoding must be auto or base64");
        }
        Object truncateValue = body.get("truncate");
        int truncate = truncateValue == null ? Integer.MAX_VALUE : integer(truncateValue);
        List<Object> out = new ArrayList<>();
        List<Delivery> taken = new ArrayList<>();
        try {
            for (int i = 0; i < count; i++) {
                GetResult result = await(queue.get(false));
                if (result.delivery() == null) {
                    break;
                }
                taken.add(result.delivery());
                out.add(messageJson(result, encoding, truncate));
            }
        } finally {
            long[] ids = new long[taken.size()];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = taken.get(i).entryId();
                taken.get(i).message().release();
            }
            if (requeue) {
                queue.requeue(ids, ids.length);
            } else if (dead) {
                queue.discard(ids, ids.length);
            } else {
                queue.ack(ids, ids.length);
            }
        }
        return out;
    }

    private static Map<String, Object> messageJson(GetResult result, String encoding, int truncate) {
        Delivery delivery = result.delivery();
        Message message = delivery.message();
        int length = (int) Math.min(message.bodySize(), truncate);
        byte[] bytes;
        if (message.isLarge()) {
            bytes = largeBodyBytes(message, length);
        } else {
            ByteBuf body = message.body();
            bytes = ByteBufUtil.getBytes(body, body.readerIndex(), length);
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("payload_bytes", message.bodySize());
        out.put("redelivered", delivery.redelivered());
        out.put("exchange", message.exchange());
        out.put("routing_key", message.routingKey());
        out.put("message_count", result.messageCount());
        out.put("properties", propertiesJson(message.properties()));
        String text = encoding.equals("auto") ? utf8(bytes) : null;
        out.put("payload", text != null ? text : Base64.getEncoder().encodeToString(bytes));
        out.put("payload_encoding", text != null ? "string" : "base64");
        return out;
    }

    /** The first {@code length} bytes of a large message's body, read from its blob. */
    private static byte[] largeBodyBytes(Message message, int length) {
        try (BlobReader reader = message.largeBody().reader()) {
            byte[] bytes = new byte[length];
            reader.read(0, length, Unpooled.wrappedBuffer(bytes).writerIndex(0));
            return bytes;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the body of a large message", e);
        }
    }

    private static String utf8(byte[] bytes) {
        try {
            return StandardCharsets.UTF_8
                    .newDecoder()
                    .decode(java.nio.ByteBuffer.wrap(bytes))
                    .toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }

    private static Map<String, Object> propertiesJson(BasicProperties p) {
        Map<String, Object> out = new LinkedHashMap<>();
        putIfSet(out, "content_type", p.contentType());
        putIfSet(out, "content_encoding", p.contentEncoding());
        if (p.headers() != null) {
            out.put("headers", JsonValues.toJson(p.headers()));
        }
        putIfSet(out, "delivery_mode", p.deliveryMode());
        putIfSet(out, "priority", p.priority());
        putIfSet(out, "correlation_id", p.correlationId());
        putIfSet(out, "reply_to", p.replyTo());
        putIfSet(out, "expiration", p.expiration());
        putIfSet(out, "message_id", p.messageId());
        if (p.timestamp() != null) {
            out.put("timestamp", p.timestamp().getEpochSecond());
        }
        putIfSet(out, "type", p.type());
        putIfSet(out, "user_id", p.userId());
        putIfSet(out, "app_id", p.appId());
        putIfSet(out, "cluster_id", p.clusterId());
        return out;
    }

    private static void putIfSet(Map<String, Object> out, String key, Object value) {
        if (value != null) {
            out.put(key, value);
        }
    }

    private Object history(MessageQueue queue) {
        List<Object> points = new ArrayList<>();
        for (double[] p : stats.history(queue)) {
            Map<String, Object> point = new LinkedHashMap<>();
            point.put("timestamp", (long) p[0]);
            point.put("messages_ready", (long) p[1]);
            point.put("messages_unacknowledged", (long) p[2]);
            point.put("publish_rate", p[3]);
            point.put("deliver_get_rate", p[4]);
            point.put("ack_rate", p[5]);
            points.add(point);
        }
        return points;
    }

    // ---------------------------------------------------------------- bindings

    private Response bindings(Request r) {
        String vhostName = r.segment(1);
        if (vhostName == null) {
            return get(r, () -> allVhosts(this::allBindingsJson));
        }
        VirtualHost vhost = vhost(vhostName);
        if (r.segment(2) == null) {
            return get(r, () -> allBindingsJson(vhost));
        }
        // /api/bindings/{vhost}/e/{source}/{q|e}/{destination}[/{props}]
        if (!"e".equals(r.segment(2))
                || r.segment(3) == null
                || !("q".equals(r.segment(4)) || "e".equals(r.segment(4)))
                || r.segment(5) == null) {
            throw ApiException.notFound("Not Found");
        }
        String source = r.segment(3);
        boolean toQueue = "q".equals(r.segment(4));
        String destination = r.segment(5);
        String props = r.segment(6);
        existingExchange(vhost, source);
        if (toQueue) {
            existingQueue(vhost, destination);
        } else {
            existingExchange(vhost, destination);
        }
        List<Binding> between = vhost.bindings().stream()
                .filter(b -> b.source().name().equals(source)
                        && b.destinationName().equals(destination)
                        && b.destinationType().equals(toQueue ? "queue" : "exchange"))
                .toList();
        if (props == null) {
            return switch (r.method()) {
                case "GET" -> Response.ok(bindingsJson(vhost, between));
                case "POST" -> {
                    Map<String, Object> body = body(r);
                    String key = string(body, "routing_key", "");
                    Map<String, Object> arguments = JsonValues.toTable(body.get("arguments"), "arguments");
                    if (toQueue) {
                        await(vhost.bindQueue(destination, source, key, arguments, null));
                    } else {
                        await(vhost.bindExchange(destination, source, key, arguments));
                    }
                    yield Response.created(propertiesKey(key, arguments));
                }
                default -> throw ApiException.methodNotAllowed(r.method(), "bindings");
            };
        }
        Binding binding = between.stream()
                .filter(b -> propertiesKey(b.routingKey(), b.arguments()).equals(props))
                .findFirst()
                .orElseThrow(() -> ApiException.notFound("no binding " + props));
        return switch (r.method()) {
            case "GET" -> Response.ok(bindingJson(vhost, binding));
            case "DELETE" -> {
                if (toQueue) {
                    await(vhost.unbindQueue(destination, source, binding.routingKey(), binding.arguments(), null));
                } else {
                    await(vhost.unbindExchange(destination, source, binding.routingKey(), binding.arguments()));
                }
                yield Response.noContent();
            }
            default -> throw ApiException.methodNotAllowed(r.method(), "a binding");
        };
    }

    /** A vhost's bindings, led (as in RabbitMQ) by the default exchange's implicit one to each queue. */
    private List<Object> allBindingsJson(VirtualHost vhost) {
        List<Object> out = new ArrayList<>();
        vhost.queues().stream()
                .map(MessageQueue::name)
                .sorted()
                .forEach(queue -> out.add(defaultBindingJson(vhost, queue)));
        out.addAll(bindingsJson(vhost, vhost.bindings()));
        return out;
    }

    /** The binding every queue has from the default exchange, with its name as routing key (implicit, never stored). */
    private static Map<String, Object> defaultBindingJson(VirtualHost vhost, String queue) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("source", "");
        out.put("vhost", vhost.name());
        out.put("destination", queue);
        out.put("destination_type", "queue");
        out.put("routing_key", queue);
        out.put("arguments", Map.of());
        out.put("properties_key", propertiesKey(queue, Map.of()));
        return out;
    }

    private List<Object> bindingsJson(VirtualHost vhost, List<Binding> bindings) {
        List<Object> out = new ArrayList<>();
        for (Binding binding : bindings) {
            out.add(bindingJson(vhost, binding));
        }
        return out;
    }

    private Map<String, Object> bindingJson(VirtualHost vhost, Binding binding) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("source", binding.source().name());
        out.put("vhost", vhost.name());
        out.put("destination", binding.destinationName());
        out.put("destination_type", binding.destinationType());
        out.put("routing_key", binding.routingKey());
        out.put("arguments", JsonValues.toJson(binding.arguments()));
        out.put("properties_key", propertiesKey(binding.routingKey(), binding.arguments()));
        return out;
    }

    /**
     * RabbitMQ's binding "properties key": the routing key, {@code ~} for an empty one, followed
     * by {@code ~} and a hash of the arguments when there are any.
     */
    static String propertiesKey(String routingKey, Map<String, Object> arguments) {
        String key = routingKey.isEmpty() ? "~" : routingKey;
        if (arguments == null || arguments.isEmpty()) {
            return key;
        }
        return key + "~" + Integer.toHexString(arguments.hashCode());
    }

    // ---------------------------------------------------------------- connections, channels, consumers

    private List<ConnectionInfo> openConnections() {
        List<CompletableFuture<ConnectionInfo>> pending = new ArrayList<>();
        for (Object connection : connections) {
            if (connection instanceof ManagedConnection amqp && !amqp.nodeLink()) {
                pending.add(amqp.describe());
            }
        }
        List<ConnectionInfo> out = new ArrayList<>();
        for (CompletableFuture<ConnectionInfo> info : pending) {
            try {
                ConnectionInfo answered = info.get(ANSWER_TIMEOUT_MS, TimeUnit.MILLISECONDS);
                if (answered != null) {
                    out.add(answered);
                }
            } catch (TimeoutException | ExecutionException e) {
                // a connection closing right now, or a stuck event loop: leave it out of the list
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new ApiException(503, "unavailable", "interrupted");
            }
        }
        out.sort(Comparator.comparing(ConnectionInfo::name));
        return out;
    }

    private Response connections(Request r) {
        String name = r.segment(1);
        if (name == null) {
            return get(
                    r,
                    () -> openConnections().stream().map(this::connectionJson).toList());
        }
        ConnectionInfo info = openConnections().stream()
                .filter(c -> c.name().equals(name))
                .findFirst()
                .orElseThrow(() -> ApiException.notFound("no connection '" + name + "'"));
        checkOwner(r, info);
        if ("channels".equals(r.segment(2))) {
            return get(r, () -> info.channels().stream()
                    .map(ch -> channelJson(info, ch))
                    .toList());
        }
        return switch (r.method()) {
            case "GET" -> Response.ok(connectionJson(info));
            case "DELETE" -> {
                List<String> reason = r.query().get("reason");
                forceClose(
                        Set.of(name),
                        reason == null || reason.isEmpty() ? "Closed via management plugin" : reason.get(0));
                yield Response.noContent();
            }
            default -> throw ApiException.methodNotAllowed(r.method(), "a connection");
        };
    }

    /** Closes the named connections with 320 CONNECTION_FORCED. */
    private void forceClose(Set<String> names, String reason) {
        for (Object connection : connections) {
            if (connection instanceof ManagedConnection amqp && !amqp.nodeLink() && names.contains(amqp.name())) {
                amqp.forceClose(reason);
            }
        }
    }

    private Map<String, Object> connectionJson(ConnectionInfo c) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("name", c.name());
        out.put("node", nodeName);
        out.put("type", "network");
        out.put("protocol", "AMQP 0-9-1");
        out.put("user", c.user());
        out.put("vhost", c.vhost());
        out.put("peer_host", c.peerHost());
        out.put("peer_port", c.peerPort());
        out.put("host", c.host());
        out.put("port", c.port());
        out.put("ssl", false);
        out.put("auth_mechanism", "PLAIN");
        out.put("state", c.blocked() ? "blocked" : "running");
        out.put("channels", c.channels().size());
        out.put("channel_max", c.channelMax());
        out.put("frame_max", c.frameMax());
        out.put("timeout", c.heartbeatSeconds());
        out.put("connected_at", c.connectedAtMs());
        out.put("client_properties", JsonValues.toJson(c.clientProperties()));
        return out;
    }

    private Map<String, Object> channelJson(ConnectionInfo c, ConnectionInfo.ChannelInfo ch) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("name", channelName(c, ch));
        out.put("number", ch.number());
        out.put("node", nodeName);
        out.put("user", c.user());
        out.put("vhost", c.vhost());
        out.put("state", "running");
        out.put("consumer_count", ch.consumerCount());
        out.put("prefetch_count", ch.prefetchCount());
        out.put("global_prefetch_count", ch.globalPrefetchCount());
        out.put("messages_unacknowledged", ch.unacknowledged());
        out.put("confirm", ch.confirm());
        out.put("transactional", false);
        out.put("connection_details", Map.of("name", c.name(), "peer_host", c.peerHost(), "peer_port", c.peerPort()));
        return out;
    }

    private List<Object> channels() {
        List<Object> out = new ArrayList<>();
        for (ConnectionInfo c : openConnections()) {
            for (ConnectionInfo.ChannelInfo ch : c.channels()) {
                out.add(channelJson(c, ch));
            }
        }
        return out;
    }

    /** /api/channels/{name}: one channel, named as RabbitMQ does, "{connection} ({number})". */
    private Object channel(Request r) {
        String name = r.segment(1);
        for (ConnectionInfo c : openConnections()) {
            for (ConnectionInfo.ChannelInfo ch : c.channels()) {
                if (channelName(c, ch).equals(name)) {
                    checkOwner(r, c);
                    return channelJson(c, ch);
                }
            }
        }
        throw ApiException.notFound("no channel '" + name + "'");
    }

    private static String channelName(ConnectionInfo c, ConnectionInfo.ChannelInfo ch) {
        return c.name() + " (" + ch.number() + ")";
    }

    private List<Object> consumers(String vhostFilter) {
        if (vhostFilter != null) {
            vhost(vhostFilter);
        }
        List<Object> out = new ArrayList<>();
        for (ConnectionInfo c : openConnections()) {
            if (vhostFilter != null && !vhostFilter.equals(c.vhost())) {
                continue;
            }
            for (ConnectionInfo.ChannelInfo ch : c.channels()) {
                for (ConnectionInfo.ConsumerInfo consumer : ch.consumers()) {
                    out.add(consumerJson(c, ch, consumer));
                }
            }
        }
        return out;
    }

    private List<Map<String, Object>> consumersOf(MessageQueue queue) {
        List<Map<String, Object>> out = new ArrayList<>();
        List<Consumer> attached = await(queue.consumers());
        Set<String> tags = new java.util.HashSet<>();
        for (Consumer consumer : attached) {
            tags.add(consumer.consumerTag());
        }
        for (ConnectionInfo c : openConnections()) {
            for (ConnectionInfo.ChannelInfo ch : c.channels()) {
                for (ConnectionInfo.ConsumerInfo consumer : ch.consumers()) {
                    if (consumer.queue().equals(queue.name())
                            && c.vhost().equals(queue.vhost().name())
                            && tags.contains(consumer.consumerTag())) {
                        out.add(consumerJson(c, ch, consumer));
                    }
                }
            }
        }
        return out;
    }

    private Map<String, Object> consumerJson(
            ConnectionInfo c, ConnectionInfo.ChannelInfo ch, ConnectionInfo.ConsumerInfo consumer) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("consumer_tag", consumer.consumerTag());
        out.put("queue", Map.of("name", consumer.queue(), "vhost", c.vhost()));
        out.put("ack_required", consumer.ackRequired());
        out.put("prefetch_count", consumer.prefetchCount());
        out.put("active", true);
        out.put("activity_status", "up");
        out.put("arguments", Map.of("x-priority", consumer.priority()));
        out.put(
                "channel_details",
                Map.of(
                        "name", channelName(c, ch),
                        "number", ch.number(),
                        "connection_name", c.name(),
                        "node", nodeName,
                        "peer_host", c.peerHost(),
                        "peer_port", c.peerPort(),
                        "user", c.user()));
        return out;
    }

    // ---------------------------------------------------------------- helpers

    private List<Object> allVhosts(java.util.function.Function<VirtualHost, List<Object>> perVhost) {
        List<Object> out = new ArrayList<>();
        for (VirtualHost vhost : broker.vhosts()) {
            out.addAll(perVhost.apply(vhost));
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> body(Request r) {
        if (r.body() == null) {
            return Map.of();
        }
        if (!(r.body() instanceof Map<?, ?> map)) {
            throw ApiException.badRequest("the request body must be a JSON object");
        }
        return (Map<String, Object>) map;
    }

    private static boolean bool(Map<String, Object> body, String key, boolean otherwise) {
        Object value = body.get(key);
        if (value == null) {
            return otherwise;
        }
        if (value instanceof Boolean b) {
            return b;
        }
        if ("true".equals(value) || "false".equals(value)) {
            return Boolean.parseBoolean((String) value);
        }
        throw ApiException.badRequest("\"" + key + "\" must be true or false");
    }

    private static String string(Map<String, Object> body, String key, String otherwise) {
        Object value = body.get(key);
        if (value == null) {
            return otherwise;
        }
        if (value instanceof String s) {
            return s;
        }
        throw ApiException.badRequest("\"" + key + "\" must be a string");
    }

    private static <T> T await(CompletableFuture<T> future) {
        try {
            return future.get(ANSWER_TIMEOUT_MS, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof AmqpException amqp) {
                throw fromAmqp(amqp);
            }
            if (e.getCause() instanceof ApiException api) {
                throw api;
            }
            throw new ApiException(500, "internal_error", String.valueOf(e.getCause()));
        } catch (TimeoutException e) {
            throw new ApiException(503, "timeout", "the broker did not answer within " + ANSWER_TIMEOUT_MS + " ms");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ApiException(503, "unavailable", "interrupted");
        }
    }

    /** AMQP refusals as RabbitMQ's management API reports them. */
    private static ApiException fromAmqp(AmqpException e) {
        String text = AmqpConstants.replyText(e.replyCode()) + " - " + e.getMessage();
        return switch (e.replyCode()) {
            case AmqpConstants.NOT_FOUND -> ApiException.notFound(text);
            case AmqpConstants.ACCESS_REFUSED -> new ApiException(403, "access_refused", text);
            default -> ApiException.badRequest(text);
        };
    }

    private static String hostName() {
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.net.UnknownHostException e) {
            return "localhost";
        }
    }
}
