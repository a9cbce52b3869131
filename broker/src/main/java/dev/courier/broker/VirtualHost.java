package dev.courier.broker;

import dev.courier.protocol.BasicProperties;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A virtual host: its exchanges, queues and bindings.
 *
 * <p>Metadata operations (declare, bind, delete) are rare and take the vhost's lock; they never
 * wait on a queue actor while holding it. Routing ({@link #route}) is on the publish hot path and
 * takes no lock: it reads concurrent maps and the exchanges' immutable routing tables. Callable
 * from any thread.
 */
public final class VirtualHost {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(VirtualHost.class);
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final List<String> TYPES = List.of("direct", "fanout", "topic", "headers");

    /** RabbitMQ compares these arguments on redeclare (classic queue type, plus Courier's own). */
    private static final List<String> QUEUE_ARGUMENTS = List.of(
            "x-expires",
            "x-message-ttl",
            "x-dead-letter-exchange",
            "x-dead-letter-routing-key",
            "x-max-length",
            "x-max-length-bytes",
            "x-max-priority",
            "x-overflow",
            "x-queue-mode",
            "x-queue-version",
            "x-single-active-consumer",
            "x-queue-type",
            "x-queue-master-locator",
            "x-queue-leader-locator",
            "x-delivery-limit",
            "x-message-deduplication",
            "x-deduplication-window",
            "x-deduplication-header",
            "x-deduplication-max-keys");

    private static final List<String> EXCHANGE_ARGUMENTS = List.of("alternate-exchange");

    private final String name;
    private final QueueRuntime runtime;
    private volatile int maxQueues;
    private final DurableState durable;
    private final ConcurrentHashMap<String, Exchange> exchanges = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, MessageQueue> queues = new ConcurrentHashMap<>();
    private final Object lock = new Object();
    /**
     * In a cluster: exchanges and bindings are proposed to the metadata group and created here only
     * when it applies them ({@code apply*} methods); null on a single node.
     */
    private final ReplicatedDefinitions replicated;

    private static final CompletableFuture<Void> DONE = CompletableFuture.completedFuture(null);

    VirtualHost(String name, QueueRuntime runtime, DurableState durable, ReplicatedDefinitions replicated) {
        this.name = name;
        this.runtime = runtime;
        this.durable = durable;
        this.replicated = replicated;
        exchanges.put("", new DefaultExchange(queues));
        for (String type : TYPES) {
            exchanges.put("amq." + type, create("amq." + type, type, true, false, false, Map.of()));
        }
        exchanges.put("amq.match", create("amq.match", "headers", true, false, false, Map.of()));
    }

    /** Limits how many queues this vhost may hold (RabbitMQ's max-queues); 0 means no limit. */
    public void maxQueues(int limit) {
        if (limit < 0) {
            throw new IllegalArgumentException("max queues must not be negative, got " + limit);
        }
        maxQueues = limit;
    }

    public String name() {
        return name;
    }

    public Collection<MessageQueue> queues() {
        return List.copyOf(queues.values());
    }

    public Collection<Exchange> exchanges() {
        return List.copyOf(exchanges.values());
    }

    /** The exchange with this name, or null. */
    public Exchange exchange(String exchangeName) {
        return exchanges.get(exchangeName);
    }

    // ---------------------------------------------------------------- exchanges

    /**
     * exchange.declare. Non-passive: the type must be known (503), the default exchange and new
     * {@code amq.*} names are refused (403), and an existing exchange must have the same type,
     * flags and alternate-exchange (406). Passive: only checks that it exists (404).
     *
     * <p>On a single node the refusals are thrown and the returned future is complete. In a cluster
     * a new exchange completes once the metadata group applied it here; when another node's
     * declare of the same name came first in the log, the future fails with the 406 this declare
     * would have got had it come second (or completes, when the two are equivalent).
     */
    public CompletableFuture<Void> declareExchange(
            String exchange,
            String type,
            boolean passive,
            boolean durable,
            boolean autoDelete,
            boolean internal,
            Map<String, Object> arguments) {
        if (passive) {
            checkNotDefault(exchange);
            if (exchanges.get(exchange) == null) {
                throw AmqpException.notFound(noExchange(exchange));
            }
            return DONE;
        }
        if (!TYPES.contains(type)) {
            throw AmqpException.commandInvalid("invalid exchange type '" + type + "'");
        }
        checkNotDefault(exchange);
        synchronized (lock) {
            Exchange existing = exchanges.get(exchange);
            if (existing != null) {
                checkEquivalentExchange(exchange, type, durable, autoDelete, internal, arguments, existing);
                return DONE;
            }
            if (exchange.startsWith("amq.")) {
                throw AmqpException.accessRefused("exchange name '" + exchange + "' contains reserved prefix 'amq.*'");
            }
            Object alternate = arguments == null ? null : arguments.get("alternate-exchange");
            if (alternate != null && !(alternate instanceof String) && !(alternate instanceof byte[])) {
                throw AmqpException.preconditionFailed("invalid type '" + AmqpTypes.typeName(alternate)
                        + "' for arg 'alternate-exchange' in exchange '" + exchange + "' in vhost '" + name + "'");
            }
            if (replicated == null) {
                Exchange created = create(exchange, type, durable, autoDelete, internal, arguments);
                exchanges.put(exchange, created);
                if (durable && this.durable != null) {
                    this.durable.recordExchange(name, created);
                }
                return DONE;
            }
        }
        Map<String, Object> args = arguments == null ? Map.of() : arguments;
        return replicated
                .declareExchange(name, exchange, type, durable, autoDelete, internal, args)
                .thenAccept(inForce -> {
                    if (inForce != null) { // another node's declare came first: as if this one came second
                        checkEquivalentExchange(exchange, type, durable, autoDelete, internal, arguments, inForce);
                    }
                });
    }

    private void checkEquivalentExchange(
            String exchange,
            String type,
            boolean durable,
            boolean autoDelete,
            boolean internal,
            Map<String, Object> arguments,
            Exchange existing) {
        checkEquivalent("exchange", exchange, "type", type, existing.type());
        checkEquivalent("exchange", exchange, "durable", durable, existing.durable());
        checkEquivalent("exchange", exchange, "auto_delete", autoDelete, existing.autoDelete());
        checkEquivalent("exchange", exchange, "internal", internal, existing.internal());
        checkEquivalentArguments("exchange", exchange, EXCHANGE_ARGUMENTS, nonNull(arguments), existing.arguments());
    }

    /** An exchange object for a definition (also one not in force here, to compare against). */
    static Exchange exchangeOf(
            String name, String type, boolean durable, boolean autoDelete, boolean internal, Map<String, Object> args) {
        return create(name, type, durable, autoDelete, internal, args);
    }

    /**
     * In a cluster: the metadata group applied an exchange's definition (apply thread). An exchange
     * of that name with another definition here (missed a delete and redeclare while this node was
     * down) is replaced, losing its bindings: the group's bindings are applied after it.
     */
    void applyExchange(Exchange exchange) {
        synchronized (lock) {
            Exchange existing = exchanges.get(exchange.name());
            if (existing != null) {
                if (sameDefinition(existing, exchange)) {
                    return;
                }
                removeExchange(existing);
            }
            exchanges.put(exchange.name(), exchange);
        }
    }

    private static boolean sameDefinition(Exchange a, Exchange b) {
        return a.type().equals(b.type())
                && a.durable() == b.durable()
                && a.autoDelete() == b.autoDelete()
                && a.internal() == b.internal()
                && a.arguments().equals(b.arguments());
    }

    /** In a cluster: the metadata group deleted an exchange (apply thread); its bindings go with it. */
    void applyExchangeRemoved(String exchange) {
        if (isBuiltIn(exchange)) {
            return;
        }
        synchronized (lock) {
            Exchange existing = exchanges.get(exchange);
            if (existing != null) {
                removeExchange(existing);
            }
        }
    }

    /** The default exchange and {@code amq.*}: every vhost has them on every node; never replicated. */
    static boolean isBuiltIn(String exchange) {
        return exchange.isEmpty() || exchange.startsWith("amq.");
    }

    /** Recreates a durable exchange found in the store at start-up. */
    void restoreExchange(String exchange, String type, boolean autoDelete, boolean internal, Map<String, Object> args) {
        synchronized (lock) {
            if (!exchanges.containsKey(exchange)) {
                exchanges.put(exchange, create(exchange, type, true, autoDelete, internal, args));
            }
        }
    }

    private static Exchange create(
            String name, String type, boolean durable, boolean autoDelete, boolean internal, Map<String, Object> args) {
        return switch (type) {
            case "direct" -> new DirectExchange(name, durable, autoDelete, internal, args);
            case "fanout" -> new FanoutExchange(name, durable, autoDelete, internal, args);
            case "topic" -> new TopicExchange(name, durable, autoDelete, internal, args);
            case "headers" -> new HeadersExchange(name, durable, autoDelete, internal, args);
            default -> throw AmqpException.commandInvalid("invalid exchange type '" + type + "'");
        };
    }

    /**
     * exchange.delete: 403 for the default and {@code amq.*} exchanges, 406 with if-unused when it
     * is the source of bindings; deleting a missing exchange succeeds, as in RabbitMQ. In a cluster
     * the exchange and its bindings (both ways) are deleted in one metadata entry, and the future
     * completes once that is applied here.
     */
    public CompletableFuture<Void> deleteExchange(String exchange, boolean ifUnused) {
        checkNotDefault(exchange);
        if (exchange.startsWith("amq.")) {
            throw AmqpException.accessRefused(
                    "deletion of system exchange '" + exchange + "' in vhost '" + name + "' not allowed");
        }
        synchronized (lock) {
            Exchange existing = exchanges.get(exchange);
            if (existing == null) {
                return DONE;
            }
            if (ifUnused && !existing.bindings().isEmpty()) {
                throw inUse(exchange);
            }
            if (replicated == null) {
                removeExchange(existing);
                return DONE;
            }
        }
        return replicated.deleteExchange(name, exchange, ifUnused).thenAccept(deleted -> {
            if (!deleted) {
                throw inUse(exchange); // a binding made elsewhere came first
            }
        });
    }

    private AmqpException inUse(String exchange) {
        return AmqpException.preconditionFailed("exchange '" + exchange + "' in vhost '" + name + "' in use");
    }

    private void removeExchange(Exchange exchange) {
        exchanges.remove(exchange.name(), exchange);
        for (Binding binding : exchange.bindings()) {
            forget(binding);
        }
        exchange.bindings(List.of());
        removeBindingsTo(exchange);
        if (exchange.durable() && durable != null) {
            durable.forgetExchange(name, exchange.name());
        }
    }

    /** True when the exchange exists and is internal (clients may not publish to it). */
    public boolean isInternal(String exchange) {
        Exchange x = exchanges.get(exchange);
        return x != null && x.internal();
    }

    // ---------------------------------------------------------------- queues

    /**
     * queue.declare. Answers the name (generated for {@code ""}) and the counts as seen in queue
     * order: an enqueue posted before this call is counted.
     *
     * <p>Non-passive: {@code amq.*} names are refused (403) even when such a queue exists;
     * redeclaring another connection's exclusive queue, or with a different exclusive flag, is 405;
     * a different durable/auto-delete flag or queue argument is 406. An exclusive queue is never
     * durable (RabbitMQ ignores the flag). Passive: 404 when missing, 405 when another
     * connection's exclusive queue.
     *
     * @param owner the declaring connection; it owns the queue when {@code exclusive}
     * @throws AmqpException synchronously for the refusals above
     */
    public CompletableFuture<QueueDeclareOk> declareQueue(
            String queue,
            boolean passive,
            boolean durable,
            boolean exclusive,
            boolean autoDelete,
            Map<String, Object> arguments,
            Object owner) {
        if (passive) {
            MessageQueue existing = queues.get(queue);
            if (existing == null) {
                checkNotRemote(queue);
                throw AmqpException.notFound(noQueue(queue));
            }
            checkExclusiveAccess(existing, owner);
            return existing.declareOk().thenApply(ok -> {
                if (ok == null) {
                    throw AmqpException.notFound(noQueue(queue)); // deleted meanwhile
                }
                return ok;
            });
        }
        if (queue.startsWith("amq.")) {
            throw AmqpException.accessRefused("queue name '" + queue + "' contains reserved prefix 'amq.*'");
        }
        boolean isDurable = durable && !exclusive;
        Object requestOwner = exclusive ? owner : null;
        MessageQueue target;
        synchronized (lock) {
            MessageQueue existing = queue.isEmpty() ? null : queues.get(queue);
            if (existing != null) {
                checkRedeclare(queue, existing, requestOwner, isDurable, autoDelete, arguments);
                target = existing;
            } else {
                checkNotRemote(queue);
                String queueName = queue.isEmpty() ? generatedName() : queue;
                int limit = maxQueues;
                if (limit > 0 && queues.size() >= limit) {
                    throw AmqpException.preconditionFailed("cannot declare queue '" + queueName
                            + "': queue limit in vhost '" + name + "' (" + limit + ") is reached");
                }
                Map<String, Object> args = Map.copyOf(nonNull(arguments));
                if ("quorum".equals(String.valueOf(args.get("x-queue-type")))) {
                    return declareQuorumQueue(queueName, durable, exclusive, autoDelete, args);
                }
                if (replicated != null) {
                    QueueArguments.parse(queueName, name, args); // bad arguments: 406 before anything is proposed
                    return declareClassicQueueInCluster(
                            queueName, isDurable, exclusive, autoDelete, args, requestOwner);
                }
                target = newQueue(queueName, isDurable, exclusive, autoDelete, args, requestOwner);
                queues.put(queueName, target);
                logQueueChange("declared", target);
                if (this.durable != null && DurableState.isDurable(target)) {
                    this.durable.recordQueue(target);
                }
            }
        }
        return target.declareOk()
                .thenCompose(ok -> ok != null
                        ? CompletableFuture.completedFuture(ok)
                        // the queue was being deleted (auto-delete, expiry) and is gone from the map by
                        // now: declare again, as RabbitMQ loops when it meets a queue on its way out
                        : declareQueue(queue, false, durable, exclusive, autoDelete, arguments, owner));
    }

    private void checkRedeclare(
            String queue,
            MessageQueue existing,
            Object requestOwner,
            boolean isDurable,
            boolean autoDelete,
            Map<String, Object> arguments) {
        if (existing.exclusiveOwner() != requestOwner) {
            throw AmqpException.resourceLocked(locked(queue));
        }
        checkEquivalent("queue", queue, "durable", isDurable, existing.durable());
        checkEquivalent("queue", queue, "auto_delete", autoDelete, existing.autoDelete());
        checkEquivalentArguments("queue", queue, QUEUE_ARGUMENTS, nonNull(arguments), existing.arguments());
    }

    /**
     * In a cluster a classic queue lives on the node that declared it: its definition and owner go
     * to the metadata group first (so two nodes cannot both own a name; the log order decides), and
     * the queue is created here once that is applied.
     */
    private CompletableFuture<QueueDeclareOk> declareClassicQueueInCluster(
            String queueName,
            boolean isDurable,
            boolean exclusive,
            boolean autoDelete,
            Map<String, Object> args,
            Object requestOwner) {
        return replicated
                .declareClassicQueue(name, queueName, isDurable, exclusive, autoDelete, args)
                .thenCompose(owner -> {
                    MessageQueue target;
                    synchronized (lock) {
                        MessageQueue existing = queues.get(queueName);
                        boolean ownedHere = owner.equals(replicated.nodeId());
                        if (!ownedHere && !(existing instanceof RemoteClassicQueue)) {
                            // its record was removed again before this answer: as if it was not there
                            throw AmqpException.notFound(remoteQueueText(name, queueName, owner));
                        }
                        if (existing != null) {
                            checkRedeclare(queueName, existing, requestOwner, isDurable, autoDelete, args);
                            target = existing;
                        } else {
                            target = newQueue(queueName, isDurable, exclusive, autoDelete, args, requestOwner);
                            queues.put(queueName, target);
                            logQueueChange("declared", target);
                            if (this.durable != null && DurableState.isDurable(target)) {
                                this.durable.recordQueue(target);
                            }
                        }
                    }
                    return target.declareOk().thenApply(ok -> {
                        if (ok == null) {
                            throw AmqpException.notFound(noQueue(queueName)); // deleted meanwhile
                        }
                        return ok;
                    });
                });
    }

    /** A classic queue of another node, as this node knows it from the metadata group. */
    private record RemoteQueue(String node, boolean exclusive) {}

    /** In a cluster: classic queues that live on other nodes, by name (written by the metadata group's apply thread). */
    private final ConcurrentHashMap<String, RemoteQueue> remoteQueues = new ConcurrentHashMap<>();

    /**
     * In a cluster: a classic queue of another node was declared (apply thread). Unless it is
     * exclusive (only its connection may use it), this node serves it by forwarding ({@link
     * RemoteClassicQueue}) when the server gave a {@link QueueForwarder}.
     */
    void applyRemoteQueue(String queue, String node, Map<String, Object> definition) {
        boolean exclusive = Boolean.TRUE.equals(definition.get("exclusive"));
        remoteQueues.put(queue, new RemoteQueue(node, exclusive));
        QueueForwarder forwarder = replicated == null ? null : replicated.forwarder();
        if (exclusive || forwarder == null) {
            return;
        }
        synchronized (lock) {
            MessageQueue existing = queues.get(queue);
            if (existing instanceof RemoteClassicQueue remote && node.equals(remote.leaderNode())) {
                return; // known already (a snapshot restore applies every record again)
            }
            if (existing != null && !(existing instanceof RemoteClassicQueue)) {
                LOG.warn("{}: the cluster says it lives on node '{}'; keeping this node's queue", existing, node);
                return;
            }
            if (existing != null) {
                dropRemote((RemoteClassicQueue) existing);
            }
            queues.put(
                    queue,
                    new RemoteClassicQueue(
                            queue,
                            this,
                            node,
                            Boolean.TRUE.equals(definition.get("durable")),
                            Boolean.TRUE.equals(definition.get("auto_delete")),
                            argumentsOf(definition),
                            forwarder));
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> argumentsOf(Map<String, Object> definition) {
        return definition.get("arguments") instanceof Map<?, ?> map ? Map.copyOf((Map<String, Object>) map) : Map.of();
    }

    /** In a cluster: a classic queue of another node is gone (apply thread). */
    void applyRemoteQueueGone(String queue) {
        remoteQueues.remove(queue);
        synchronized (lock) {
            if (queues.get(queue) instanceof RemoteClassicQueue remote) {
                dropRemote(remote);
            }
        }
    }

    /**
     * In a cluster, after a snapshot restore applied every record: forgets the other nodes'
     * classic queues the cluster no longer has.
     */
    void retainRemoteQueues(java.util.function.Predicate<String> inCluster) {
        remoteQueues.keySet().removeIf(queue -> !inCluster.test(queue));
        synchronized (lock) {
            for (MessageQueue queue : List.copyOf(queues.values())) {
                if (queue instanceof RemoteClassicQueue remote && !inCluster.test(remote.name())) {
                    dropRemote(remote);
                }
            }
        }
    }

    // lock held: the queue's node deleted it; its bindings here go with it (the group drops theirs)
    private void dropRemote(RemoteClassicQueue remote) {
        queues.remove(remote.name(), remote);
        removeBindingsTo(remote);
        remote.forget();
    }

    /** The node that owns a classic queue this node cannot serve, or null. */
    public String remoteOwner(String queue) {
        RemoteQueue remote = remoteQueues.get(queue);
        return remote == null ? null : remote.node();
    }

    /**
     * Refuses to use a classic queue that lives on another node: Courier does not forward classic
     * queues between nodes. 405 for another node's exclusive queue (another connection owns it, as
     * on one node), else 404 naming the node, as RabbitMQ answers when a classic queue's home node
     * cannot be reached.
     */
    private void checkNotRemote(String queue) {
        RemoteQueue remote = remoteQueues.get(queue);
        if (remote == null) {
            return;
        }
        if (remote.exclusive()) {
            throw AmqpException.resourceLocked(remoteExclusiveText(name, queue, remote.node()));
        }
        throw AmqpException.notFound(remoteQueueText(name, queue, remote.node()));
    }

    static String remoteQueueText(String vhost, String queue, String node) {
        return fitShortString("queue '" + queue + "' in vhost '" + vhost + "' is a classic queue on node '" + node
                + "'; classic queues are not reachable from other nodes: connect to node '" + node
                + "' or use x-queue-type=quorum");
    }

    static String remoteExclusiveText(String vhost, String queue, String node) {
        return fitShortString("cannot obtain exclusive access to locked queue '" + queue + "' in vhost '" + vhost
                + "': it is an exclusive queue of a connection to node '" + node + "'");
    }

    /** A reply text is an AMQP short string: at most 255 bytes (long names are cut). */
    private static String fitShortString(String text) {
        byte[] utf8 = text.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        if (utf8.length <= 250) {
            return text;
        }
        String cut = new String(utf8, 0, 246, java.nio.charset.StandardCharsets.UTF_8);
        return cut.substring(0, cut.length() - 1) + "...";
    }

    private ClassicQueue newQueue(
            String queueName,
            boolean isDurable,
            boolean exclusive,
            boolean autoDelete,
            Map<String, Object> args,
            Object owner) {
        QueueArguments features = QueueArguments.parse(queueName, name, args);
        boolean stored = durable != null && isDurable && !exclusive;
        return new ClassicQueue(
                queueName,
                this,
                isDurable,
                exclusive,
                autoDelete,
                args,
                features,
                owner,
                runtime,
                stored ? durable : null,
                stored ? durable.storeQueue(name, queueName) : null);
    }

    /**
     * A new quorum queue: replicated through the cluster, answered once the declare is committed.
     * As in RabbitMQ, it must be durable, not exclusive and not auto-delete. Lock held.
     */
    private CompletableFuture<QueueDeclareOk> declareQuorumQueue(
            String queueName, boolean isDurable, boolean exclusive, boolean autoDelete, Map<String, Object> args) {
        QuorumDirectory directory = runtime.quorum();
        if (!directory.active()) {
            throw AmqpException.preconditionFailed("invalid arg 'x-queue-type' for queue '" + queueName
                    + "' in vhost '" + name + "': quorum queues need this node to run in a cluster"
                    + " (--node-id, --cluster)");
        }
        String invalid = exclusive ? "exclusive" : !isDurable ? "non-durable" : autoDelete ? "auto-delete" : null;
        if (invalid != null) {
            throw AmqpException.preconditionFailed(
                    "invalid property '" + invalid + "' for queue '" + queueName + "' in vhost '" + name + "'");
        }
        QueueArguments features = QueueArguments.parse(queueName, name, args);
        QuorumQueue queue = new QuorumQueue(queueName, this, false, args, features, directory);
        queues.put(queueName, queue);
        directory.register(queue);
        logQueueChange("declared", queue);
        byte[] definition = QuorumDirectory.definition(name, queueName, false, args);
        return directory
                .cluster()
                .declare(queue.key(), definition, QuorumDirectory.settings(features))
                .thenApply(inForce -> {
                    if (!java.util.Arrays.equals(inForce, definition)) {
                        // declared concurrently on another node with other arguments
                        throw AmqpException.preconditionFailed("inequivalent arg for queue '" + queueName
                                + "' in vhost '" + name + "': it was declared elsewhere with other arguments");
                    }
                    return new QueueDeclareOk(queueName, queue.messageCount(), queue.consumerCount());
                })
                .whenComplete((ok, failure) -> {
                    if (failure != null && !(ReplicatedDefinitions.unwrap(failure) instanceof AmqpException)) {
                        // never replicated (no majority within the retry window): forget it here
                        LOG.warn(
                                "quorum queue '{}' in vhost '{}' could not be declared: {}",
                                queueName,
                                name,
                                failure.toString());
                        synchronized (lock) {
                            queues.remove(queueName, queue);
                        }
                        directory.forget(queue);
                    }
                });
    }

    /**
     * The local object for a quorum queue declared on some node (or found in the replicated log at
     * start); null when a classic queue already holds the name here.
     */
    QuorumQueue attachQuorumQueue(
            String queueName, boolean autoDelete, Map<String, Object> args, QuorumDirectory directory) {
        synchronized (lock) {
            MessageQueue existing = queues.get(queueName);
            if (existing instanceof QuorumQueue quorum) {
                return quorum;
            }
            if (existing != null) {
                LOG.warn(
                        "quorum queue '{}' in vhost '{}' is hidden on this node by a classic queue of that name",
                        queueName,
                        name);
                return null;
            }
            QuorumQueue queue = new QuorumQueue(
                    queueName, this, autoDelete, args, QueueArguments.parse(queueName, name, args), directory);
            queues.put(queueName, queue);
            logQueueChange("known", queue);
            if (replicated != null) {
                replicated.bindingsAppeared(this); // the metadata group may have applied them first
            }
            return queue;
        }
    }

    /** A quorum queue was deleted in the cluster: forget it and its bindings here. */
    void detachQuorumQueue(QuorumQueue queue) {
        synchronized (lock) {
            if (queues.remove(queue.name(), queue)) {
                removeBindingsTo(queue);
                logQueueChange("deleted", queue);
            }
        }
    }

    QueueRuntime runtime() {
        return runtime;
    }

    /** Named queues at INFO; exclusive server-named ones (RPC replies, temporary subscribers) at DEBUG. */
    private void logQueueChange(String what, MessageQueue queue) {
        if (queue.exclusive() && queue.name().startsWith("amq.gen-")) {
            LOG.debug("queue '{}' {} in vhost '{}'", queue.name(), what, name);
        } else {
            LOG.info("queue '{}' {} in vhost '{}'{}", queue.name(), what, name, queue.durable() ? " (durable)" : "");
        }
    }

    /** Recreates a durable queue found in the store at start-up. */
    ClassicQueue restoreQueue(String queueName, boolean autoDelete, Map<String, Object> args) {
        synchronized (lock) {
            ClassicQueue queue = newQueue(queueName, true, false, autoDelete, args, null);
            queues.put(queueName, queue);
            return queue;
        }
    }

    /** Recreates a durable binding found in the store at start-up. */
    void restoreBinding(
            String source, String destination, String destinationType, String routingKey, Map<String, Object> args) {
        synchronized (lock) {
            Exchange from = existingExchange(source);
            Object to = destinationType.equals("queue") ? queue(destination, null) : existingExchange(destination);
            Binding binding = new Binding(from, to, routingKey, args);
            List<Binding> updated = new ArrayList<>(from.bindings());
            if (!updated.contains(binding)) {
                updated.add(binding);
                from.bindings(updated);
            }
        }
    }

    private static String generatedName() {
        byte[] bytes = new byte[16];
        RANDOM.nextBytes(bytes);
        return "amq.gen-" + Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    /**
     * queue.delete: answers the number of ready messages dropped; cancels the consumers
     * ({@link Consumer#onQueueDeleted}) and removes the bindings. Unacked messages are dropped when
     * they are settled. Deleting a missing queue answers 0, as RabbitMQ 3.x does; 405 for another
     * connection's exclusive queue; the future fails with 406 when if-unused / if-empty do not hold.
     */
    public CompletableFuture<Integer> deleteQueue(String queue, boolean ifUnused, boolean ifEmpty, Object owner) {
        MessageQueue existing = queues.get(queue);
        if (existing == null) {
            checkNotRemote(queue);
            return CompletableFuture.completedFuture(0);
        }
        checkExclusiveAccess(existing, owner);
        CompletableFuture<Integer> deleted = existing.delete(ifUnused, ifEmpty);
        if (replicated != null && existing instanceof QuorumQueue) {
            // every node drops its bindings to the queue; the node that deleted it drops them from the cluster
            return deleted.thenCompose(
                    count -> replicated.forgetBindingsTo(name, "queue", queue).thenApply(ignored -> count));
        }
        return deleted;
    }

    /** queue.purge: drops the ready messages (not the unacked ones); answers how many. 404/405 as {@link #queue}. */
    public CompletableFuture<Integer> purgeQueue(String queue, Object owner) {
        return queue(queue, owner).purge();
    }

    /** The queue with this name, or null; no exclusivity check (for operators' views). */
    public MessageQueue findQueue(String queue) {
        return queues.get(queue);
    }

    /** Looks a queue up for consume/get/purge: 404 when missing, 405 for another connection's exclusive queue. */
    public MessageQueue queue(String queue, Object owner) {
        MessageQueue existing = queues.get(queue);
        if (existing == null) {
            checkNotRemote(queue);
            throw AmqpException.notFound(noQueue(queue));
        }
        checkExclusiveAccess(existing, owner);
        return existing;
    }

    /** Called on the queue's actor once it marked itself deleted: forget it and its bindings. */
    void removeQueue(MessageQueue queue) {
        logQueueChange("deleted", queue);
        synchronized (lock) {
            queues.remove(queue.name(), queue);
            removeBindingsTo(queue);
            if (durable != null && DurableState.isDurable(queue)) {
                durable.forgetQueue(queue, queue.storeQueue());
            }
        }
        if (replicated != null) {
            replicated.forgetClassicQueue(name, queue.name()); // a classic queue lives on this node only
        }
    }

    /**
     * Moves up to {@code max} ready messages from one queue to another (DLQ redrive), in order.
     *
     * @throws AmqpException 404 when either queue is missing
     */
    public CompletableFuture<Integer> moveMessages(String source, String destination, int max, Object owner) {
        MessageQueue from = queue(source, owner);
        MessageQueue to = queue(destination, owner);
        if (from == to) {
            throw AmqpException.preconditionFailed("cannot move messages from queue '" + source + "' to itself");
        }
        return from.moveTo(to, max);
    }

    /** Deletes the exclusive queues of a connection that closed. */
    public void onConnectionClosed(Object owner) {
        List<MessageQueue> owned = new ArrayList<>();
        for (MessageQueue queue : queues.values()) {
            if (queue.exclusive() && queue.exclusiveOwner() == owner) {
                owned.add(queue);
            }
        }
        for (MessageQueue queue : owned) {
            queue.delete(false, false);
        }
    }

    private void checkExclusiveAccess(MessageQueue queue, Object owner) {
        if (queue.exclusive() && queue.exclusiveOwner() != owner) {
            throw AmqpException.resourceLocked(locked(queue.name()));
        }
    }

    private String locked(String queue) {
        return "cannot obtain exclusive access to locked queue '" + queue + "' in vhost '" + name
                + "'. It could be originally declared on another connection or the exclusive property value does not"
                + " match that of the original declaration.";
    }

    // ---------------------------------------------------------------- bindings

    /**
     * queue.bind: 403 on the default exchange, 404 when the exchange or queue is missing, 405 for
     * another connection's exclusive queue, 406 for invalid headers-binding arguments. Binding
     * twice is a no-op. In a cluster the future completes once the metadata group applied the
     * binding here (404 when the exchange was deleted elsewhere first).
     */
    public CompletableFuture<Void> bindQueue(
            String queue, String exchange, String routingKey, Map<String, Object> arguments, Object owner) {
        checkNotDefault(exchange);
        Binding binding;
        synchronized (lock) {
            Exchange source = existingExchange(exchange);
            MessageQueue destination = queue(queue, owner);
            binding = new Binding(source, destination, routingKey, arguments);
            source.validateBinding(binding);
            if (replicated == null) {
                addBinding(binding);
                return DONE;
            }
            if (source.bindings().contains(binding)) {
                return DONE;
            }
        }
        return replicated.bind(name, binding);
    }

    /**
     * queue.unbind: as {@link #bindQueue}; removing a binding that does not exist succeeds. An
     * auto-delete exchange that loses its last binding is deleted.
     */
    public CompletableFuture<Void> unbindQueue(
            String queue, String exchange, String routingKey, Map<String, Object> arguments, Object owner) {
        checkNotDefault(exchange);
        Binding binding;
        synchronized (lock) {
            Exchange source = existingExchange(exchange);
            MessageQueue destination = queue(queue, owner);
            binding = new Binding(source, destination, routingKey, arguments);
            if (replicated == null) {
                removeBinding(binding);
                return DONE;
            }
        }
        return replicated.unbind(name, binding);
    }

    /**
     * In a cluster: the metadata group applied a binding (or its removal) — on its apply thread — or
     * an end of a replicated binding appeared here ({@code stillReplicated} then says, under the
     * lock, whether the group still has it, so a removal applied meanwhile is not undone). A binding
     * whose ends this node does not have (yet) is skipped: it is made when they appear.
     */
    void applyBinding(
            boolean bind,
            String source,
            String destinationType,
            String destination,
            String routingKey,
            Map<String, Object> arguments,
            java.util.function.BooleanSupplier stillReplicated) {
        synchronized (lock) {
            Exchange from = exchanges.get(source);
            Object to = destinationType.equals("queue") ? queues.get(destination) : exchanges.get(destination);
            if (from == null || to == null) {
                return;
            }
            Binding binding = new Binding(from, to, routingKey, arguments);
            if (!bind) {
                removeBinding(binding);
            } else if (stillReplicated.getAsBoolean()) {
                addBinding(binding);
            }
        }
    }

    /** In a cluster: the bindings here that the metadata group does not have (for a restore). */
    List<Binding> bindingsNotIn(java.util.function.Predicate<Binding> replicatedHas) {
        List<Binding> stale = new ArrayList<>();
        synchronized (lock) {
            for (Exchange exchange : exchanges.values()) {
                for (Binding binding : exchange.bindings()) {
                    if (!replicatedHas.test(binding)) {
                        stale.add(binding);
                    }
                }
            }
        }
        return stale;
    }

    /** In a cluster: removes a binding the metadata group does not have (apply thread). */
    void dropBinding(Binding binding) {
        synchronized (lock) {
            removeBinding(binding);
        }
    }

    /** exchange.bind: messages routed by {@code source} also go through {@code destination}. 403/404/406 as {@link #bindQueue}. */
    public CompletableFuture<Void> bindExchange(
            String destination, String source, String routingKey, Map<String, Object> arguments) {
        checkNotDefault(destination);
        checkNotDefault(source);
        Binding binding;
        synchronized (lock) {
            Exchange from = existingExchange(source);
            Exchange to = existingExchange(destination);
            binding = new Binding(from, to, routingKey, arguments);
            from.validateBinding(binding);
            if (replicated == null) {
                addBinding(binding);
                return DONE;
            }
            if (from.bindings().contains(binding)) {
                return DONE;
            }
        }
        return replicated.bind(name, binding);
    }

    /** exchange.unbind; removing a binding that does not exist succeeds. */
    public CompletableFuture<Void> unbindExchange(
            String destination, String source, String routingKey, Map<String, Object> arguments) {
        checkNotDefault(destination);
        checkNotDefault(source);
        Binding binding;
        synchronized (lock) {
            Exchange from = existingExchange(source);
            Exchange to = existingExchange(destination);
            binding = new Binding(from, to, routingKey, arguments);
            if (replicated == null) {
                removeBinding(binding);
                return DONE;
            }
        }
        return replicated.unbind(name, binding);
    }

    private static void checkNotDefault(String exchange) {
        if (exchange.isEmpty()) {
            throw AmqpException.accessRefused("operation not permitted on the default exchange");
        }
    }

    private Exchange existingExchange(String exchange) {
        Exchange x = exchanges.get(exchange);
        if (x == null) {
            throw AmqpException.notFound(noExchange(exchange));
        }
        return x;
    }

    /**
     * Deletes everything in this vhost, for vhost deletion: every queue (consumers are cancelled,
     * messages dropped), every binding and exchange, and their durable records.
     */
    CompletableFuture<Void> destroy() {
        List<CompletableFuture<Integer>> deletions = new ArrayList<>();
        synchronized (lock) {
            for (Exchange exchange : exchanges.values()) {
                for (Binding binding : exchange.bindings()) {
                    forget(binding);
                }
                exchange.bindings(List.of());
                if (durable != null && exchange.durable() && !exchange.name().isEmpty()) {
                    durable.forgetExchange(name, exchange.name());
                }
            }
        }
        for (MessageQueue queue : queues.values()) {
            if (queue instanceof RemoteClassicQueue remote) {
                remote.forget(); // its own node deletes it, as every node deletes the vhost
            } else {
                deletions.add(queue.delete(false, false));
            }
        }
        return CompletableFuture.allOf(deletions.toArray(new CompletableFuture<?>[0]))
                .thenRun(() -> {
                    if (durable != null) {
                        durable.forgetVhost(name);
                    }
                });
    }

    /** Bindings to this vhost's queues and exchanges, for listings. */
    public List<Binding> bindings() {
        List<Binding> all = new ArrayList<>();
        for (Exchange exchange : exchanges.values()) {
            all.addAll(exchange.bindings());
        }
        return all;
    }

    private void addBinding(Binding binding) {
        List<Binding> current = binding.source().bindings();
        if (current.contains(binding)) {
            return;
        }
        List<Binding> updated = new ArrayList<>(current);
        updated.add(binding);
        binding.source().bindings(updated);
        if (durable != null && DurableState.isDurable(binding)) {
            durable.recordBinding(name, binding);
        }
    }

    private void removeBinding(Binding binding) {
        Exchange source = binding.source();
        List<Binding> updated = new ArrayList<>(source.bindings());
        if (updated.remove(binding)) {
            source.bindings(updated);
            forget(binding);
            autoDeleteIfUnused(source);
        }
    }

    private void forget(Binding binding) {
        if (durable != null && DurableState.isDurable(binding)) {
            durable.forgetBinding(name, binding);
        }
    }

    /** Removes every binding whose destination is {@code destination}; lock held. */
    private void removeBindingsTo(Object destination) {
        for (Exchange exchange : List.copyOf(exchanges.values())) {
            List<Binding> current = exchange.bindings();
            if (current.stream().anyMatch(b -> b.destination() == destination)) {
                List<Binding> updated = new ArrayList<>(current);
                updated.removeIf(b -> {
                    if (b.destination() == destination) {
                        forget(b);
                        return true;
                    }
                    return false;
                });
                exchange.bindings(updated);
                autoDeleteIfUnused(exchange);
            }
        }
    }

    private void autoDeleteIfUnused(Exchange exchange) {
        if (replicated != null) {
            return; // in a cluster the node that removed the binding proposes the deletion
        }
        if (exchange.autoDelete() && exchange.bindings().isEmpty() && exchanges.get(exchange.name()) == exchange) {
            removeExchange(exchange);
        }
    }

    // ---------------------------------------------------------------- routing (lock-free)

    /**
     * Adds to {@code out} the distinct queues a message published to {@code exchange} reaches,
     * following exchange-to-exchange bindings and alternate exchanges, each exchange at most once.
     * Lock-free and allocation-free apart from {@code out} growing; callable from any thread. The
     * message is only looked at by headers exchanges (its properties are decoded then).
     *
     * @throws AmqpException 404 when the exchange does not exist
     */
    public void route(String exchange, String routingKey, Message message, List<MessageQueue> out) {
        Exchange x = exchanges.get(exchange);
        if (x == null) {
            throw AmqpException.notFound(noExchange(exchange));
        }
        if (x instanceof DefaultExchange) {
            MessageQueue queue = queues.get(routingKey);
            if (queue != null) {
                out.add(queue);
            }
            return;
        }
        Router.acquire().route(exchanges, x, routingKey, message, out);
    }

    /**
     * Hands a routed message to its queues; the caller's reference is not consumed. A persistent
     * message is written once to the store for all its durable queues, and those queues report it
     * taken only after the write is fsynced; {@code listener} (nullable) hears once per queue.
     */
    public void enqueue(Message message, List<MessageQueue> targets, EnqueueListener listener) {
        enqueue(message, targets, listener, null);
    }

    /** A commit unit for one tx.commit (see {@link CommitUnit}). */
    public CommitUnit beginCommit() {
        return new CommitUnit(durable);
    }

    /**
     * As {@link #enqueue(Message, List, EnqueueListener)}; with {@code unit} not null a persistent
     * message's record joins the unit and the queues get the message when the unit is submitted.
     */
    public void enqueue(Message message, List<MessageQueue> targets, EnqueueListener listener, CommitUnit unit) {
        long storeId = 0;
        CompletableFuture<Void> stored = null;
        if (durable != null && anyStored(targets) && message.persistent()) {
            List<dev.courier.store.StoreQueue> storeQueues = null;
            long nowMs = runtime.clockMs().getAsLong();
            long expiresAtMs = 0; // as the stored queues will compute it after a restart; -1 if they differ
            for (int i = 0, n = targets.size(); i < n; i++) {
                MessageQueue target = targets.get(i);
                dev.courier.store.StoreQueue storeQueue = target.storeQueue();
                if (storeQueue != null) {
                    long expiry =
                            ClassicQueue.expiryOf(message, target.features().messageTtlMs(), nowMs);
                    if (storeQueues == null) {
                        storeQueues = new ArrayList<>(n);
                        expiresAtMs = expiry;
                    } else if (expiry != expiresAtMs) {
                        expiresAtMs = -1;
                    }
                    storeQueues.add(storeQueue);
                }
            }
            if (storeQueues != null) {
                storeId = durable.nextMessageId();
                stored = durable.persist(
                        message, storeId, storeQueues, nowMs, expiresAtMs, unit == null ? null : unit.transaction());
                if (unit != null && stored != null) {
                    unit.alsoWaitFor(stored); // a large body's blob fsync
                }
            }
        }
        for (int i = 0, n = targets.size(); i < n; i++) {
            MessageQueue target = targets.get(i);
            if (unit != null) {
                unit.handOverLater(target, message.retain(), listener, storeId);
            } else {
                handOver(target, message.retain(), listener, storeId, stored);
            }
        }
    }

    /** Gives a message (and the caller's reference) to a queue; {@code stored} completes when its record is durable. */
    static void handOver(
            MessageQueue target,
            Message message,
            EnqueueListener listener,
            long storeId,
            CompletableFuture<Void> stored) {
        if (stored != null && target instanceof ClassicQueue classic && classic.storeQueue() != null) {
            classic.enqueue(message, listener, storeId, stored);
        } else {
            target.enqueue(message, listener);
        }
    }

    private static boolean anyStored(List<MessageQueue> targets) {
        for (int i = 0, n = targets.size(); i < n; i++) {
            if (targets.get(i).storeQueue() != null) {
                return true;
            }
        }
        return false;
    }

    /** Convenience for tests and tools: routes a message with these properties and an empty body. */
    public List<MessageQueue> route(String exchange, String routingKey, BasicProperties properties) {
        io.netty.buffer.ByteBuf raw = io.netty.buffer.Unpooled.buffer();
        properties.encode(raw);
        Message message = new Message(exchange, routingKey, raw, io.netty.buffer.Unpooled.EMPTY_BUFFER);
        try {
            List<MessageQueue> out = new ArrayList<>();
            route(exchange, routingKey, message, out);
            return out;
        } finally {
            message.release();
        }
    }

    // ---------------------------------------------------------------- texts

    private String noExchange(String exchange) {
        return "no exchange '" + exchange + "' in vhost '" + name + "'";
    }

    private String noQueue(String queue) {
        return "no queue '" + queue + "' in vhost '" + name + "'";
    }

    private void checkEquivalent(String kind, String object, String property, Object received, Object current) {
        if (!Objects.equals(received, current)) {
            throw AmqpException.preconditionFailed("inequivalent arg '" + property + "' for " + kind + " '" + object
                    + "' in vhost '" + name + "': received '" + received + "' but current is '" + current + "'");
        }
    }

    private static Map<String, Object> nonNull(Map<String, Object> arguments) {
        return arguments == null ? Map.of() : Exchange.withoutNulls(arguments);
    }

    private void checkEquivalentArguments(
            String kind, String object, List<String> keys, Map<String, Object> received, Map<String, Object> current) {
        for (String key : keys) {
            Object a = received.get(key);
            Object b = current.get(key);
            if (a == null && b == null) {
                continue;
            }
            if (key.equals("x-queue-type")
                    && ((a == null && "classic".equals(b)) || (b == null && "classic".equals(a)))) {
                continue; // RabbitMQ: a classic queue need not name its type
            }
            if (a == null || b == null) {
                throw AmqpException.preconditionFailed("inequivalent arg '" + key + "' for " + kind + " '" + object
                        + "' in vhost '" + name + "': received " + describe(a) + " but current is " + describe(b));
            }
            if (!AmqpTypes.sameTypeClassAndValue(a, b)) {
                // RabbitMQ 3.10 prints two present values bare, without their types
                throw AmqpException.preconditionFailed("inequivalent arg '" + key + "' for " + kind + " '" + object
                        + "' in vhost '" + name + "': received '" + AmqpTypes.text(a) + "' but current is '"
                        + AmqpTypes.text(b) + "'");
            }
        }
    }

    private static String describe(Object value) {
        return value == null
                ? "none"
                : "the value '" + AmqpTypes.text(value) + "' of type '" + AmqpTypes.typeName(value) + "'";
    }
}
