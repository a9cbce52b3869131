package dev.courier.broker;

import dev.courier.cluster.meta.MetaBatch;
import dev.courier.cluster.meta.MetaChange;
import dev.courier.cluster.meta.MetaOp;
import dev.courier.cluster.meta.MetaResult;
import dev.courier.cluster.meta.ReplicatedMetadata;
import dev.courier.protocol.FieldTables;
import io.netty.buffer.ByteBufUtil;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The broker's definitions in the cluster's metadata group: in a cluster, vhosts, exchanges and
 * bindings are changed by proposing them to the group and created or removed on this node only
 * when the group applies them (on every node alike, the proposer included), so the group's log
 * order decides between nodes that change the same thing at once. Single-node brokers do not use
 * it.
 *
 * <p>Keys (values are AMQP field tables):
 *
 * <pre>
 * vhost/NAME
 * exchange/VHOST\0NAME                                         type durable auto_delete internal arguments
 * binding/VHOST\0SOURCE\0DEST_TYPE\0DEST\0ROUTING_KEY\0ARGS_HEX   source destination destination_type routing_key arguments
 * queue/VHOST\0NAME                                            node durable exclusive auto_delete arguments
 * </pre>
 *
 * <p>{@code queue/} records the classic queues and the node each lives on (quorum queues are
 * defined in their own Raft groups): a node refuses to use another node's classic queue with a
 * clear error (Courier does not forward classic queues between nodes), and two nodes cannot
 * declare the same name.
 *
 * <p>Threading: {@link #changed} and {@link #restored} run on the metadata group's apply thread;
 * proposals may be made from any thread and never hold a vhost lock while they wait.
 */
public final class ReplicatedDefinitions {
    private static final Logger LOG = LoggerFactory.getLogger(ReplicatedDefinitions.class);
    static final String VHOST = "vhost/";
    static final String EXCHANGE = "exchange/";
    static final String BINDING = "binding/";
    static final String QUEUE = "queue/";

    private final Broker broker;
    private volatile ReplicatedMetadata meta;
    /**
     * Whether this node has caught up with the group since it started. Until then a restore may
     * come from this node's own older snapshot (e.g. after a crash), which can lack a vhost the
     * log tail is about to define again: vhosts are not removed by restores before that, since
     * removing one drops its classic queues and their stored messages.
     */
    private volatile boolean caughtUp;

    private volatile QueueForwarder forwarder;

    ReplicatedDefinitions(Broker broker) {
        this.broker = broker;
    }

    /**
     * Lets this node serve the classic queues of other nodes by forwarding to them; set before
     * {@link #attach}, or those queues are refused here (404 naming their node).
     */
    public void forwarder(QueueForwarder forwarder) {
        this.forwarder = forwarder;
    }

    QueueForwarder forwarder() {
        return forwarder;
    }

    /** Starts proposing through the running metadata group. */
    public void attach(ReplicatedMetadata running) {
        this.meta = running;
    }

    /** Whether a metadata key is the broker's (the others are the server's: users, permissions). */
    public static boolean owns(String key) {
        return key.startsWith(VHOST) || key.startsWith(EXCHANGE) || key.startsWith(BINDING) || key.startsWith(QUEUE);
    }

    /** The vhost a change deleted, or null when it deleted none. */
    public static String deletedVhost(MetaChange change) {
        return change.removed() && change.key().startsWith(VHOST) ? change.key().substring(VHOST.length()) : null;
    }

    static String vhostKey(String vhost) {
        return VHOST + vhost;
    }

    /** The operation that defines a vhost (for the cluster's first start: the default vhost). */
    public static MetaOp vhostDefinition(String vhost) {
        return new MetaOp.Put(vhostKey(vhost), FieldTables.toBytes(Map.of("name", vhost)));
    }

    // ---------------------------------------------------------------- proposals

    CompletableFuture<MetaResult> submit(MetaOp... ops) {
        ReplicatedMetadata running = meta;
        if (running == null) {
            return CompletableFuture.failedFuture(new AmqpException(
                    dev.courier.protocol.AmqpConstants.INTERNAL_ERROR,
                    "the cluster's metadata group is not running yet"));
        }
        return running.submit(MetaBatch.of(ops));
    }

    static Throwable unwrap(Throwable failure) {
        return failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
    }

    /** Creates a vhost on every node; returns once it exists here. */
    void addVhost(String name) {
        MetaOp.Put definition = (MetaOp.Put) vhostDefinition(name);
        ReplicatedMetadata.await(submit(new MetaOp.PutIfAbsent(definition.key(), definition.value())));
    }

    /** Deletes a vhost with its exchanges and bindings on every node; false when there was none here. */
    CompletableFuture<Boolean> deleteVhost(String name) {
        if (broker.vhost(name) == null) {
            return CompletableFuture.completedFuture(false);
        }
        return submit(
                        new MetaOp.Delete(vhostKey(name)),
                        new MetaOp.DeletePrefix(EXCHANGE + name + '\u0000'),
                        new MetaOp.DeletePrefix(BINDING + name + '\u0000'))
                .thenApply(result -> true);
    }

    static String queueKey(String vhost, String queue) {
        return QUEUE + vhost + '\u0000' + queue;
    }

    String nodeId() {
        return broker.quorumQueues().nodeId();
    }

    /**
     * Proposes a classic queue owned by this node; completes with its owner once applied here: this
     * node (also when it owned it already) or, when another node owns the name and this node can
     * forward to it, that node. Fails with 404 naming the owner when it cannot, 405 when the
     * queue is another node's exclusive one.
     */
    CompletableFuture<String> declareClassicQueue(
            String vhost,
            String queue,
            boolean durable,
            boolean exclusive,
            boolean autoDelete,
            Map<String, Object> arguments) {
        Map<String, Object> table = new LinkedHashMap<>();
        table.put("node", nodeId());
        table.put("durable", durable);
        table.put("exclusive", exclusive);
        table.put("auto_delete", autoDelete);
        table.put("arguments", new TreeMap<>(arguments));
        return submit(inVhost(vhost, new MetaOp.PutIfAbsent(queueKey(vhost, queue), FieldTables.toBytes(table))))
                .thenApply(result -> {
                    if (result.applied()) {
                        return nodeId();
                    }
                    if (result.inForce() == null) {
                        throw AmqpException.notFound("no vhost '" + vhost + "'");
                    }
                    Map<String, Object> inForce = FieldTables.fromBytes(result.inForce());
                    String owner = String.valueOf(inForce.get("node"));
                    if (owner.equals(nodeId())) {
                        return owner; // declared here before, with other flags: the caller compares
                    }
                    if (Boolean.TRUE.equals(inForce.get("exclusive"))) {
                        throw AmqpException.resourceLocked(VirtualHost.remoteExclusiveText(vhost, queue, owner));
                    }
                    if (forwarder != null) {
                        return owner; // served here by forwarding: the caller compares
                    }
                    throw AmqpException.notFound(VirtualHost.remoteQueueText(vhost, queue, owner));
                });
    }

    /**
     * A classic queue of this node is gone: proposes removing its record and every binding to it
     * (then the auto-delete exchanges left without bindings). Never fails: a failure is logged.
     */
    CompletableFuture<Void> forgetClassicQueue(String vhost, String queue) {
        return forgetBindingsTo(vhost, "queue", queue, queueKey(vhost, queue));
    }

    /**
     * At start, once an entry this node proposed after starting was applied here (so it has caught
     * up with the group): removes the vhosts the cluster no longer has (deleted while this node was
     * down, when a restore could not yet say so), then the records of its lost classic queues.
     */
    public void caughtUp() {
        ReplicatedMetadata running = meta;
        if (running == null) {
            return;
        }
        caughtUp = true;
        for (VirtualHost known : broker.vhosts()) {
            if (running.get(vhostKey(known.name())) == null) {
                LOG.info(
                        "vhost '{}' was deleted in the cluster while this node was down; deleting it here",
                        known.name());
                broker.vhostRemoved(known.name());
            }
        }
        forgetLostQueues();
    }

    /**
     * The records of classic queues
     * said to live here that this node no longer has (non-durable and exclusive ones do not survive
     * a restart) are removed with their bindings, so their names are free again on every node.
     */
    private void forgetLostQueues() {
        ReplicatedMetadata running = meta;
        if (running == null) {
            return;
        }
        running.prefix(QUEUE).forEach((key, value) -> {
            String[] f = key.substring(QUEUE.length()).split("\u0000", 2);
            if (f.length != 2
                    || !nodeId().equals(
                                    String.valueOf(FieldTables.fromBytes(value).get("node")))) {
                return;
            }
            VirtualHost vhost = broker.vhost(f[0]);
            if (vhost == null || !(vhost.findQueue(f[1]) instanceof ClassicQueue)) {
                LOG.info(
                        "classic queue '{}' in vhost '{}' did not survive this node's restart; removing it from the cluster",
                        f[1],
                        f[0]);
                forgetClassicQueue(f[0], f[1]);
            }
        });
    }

    static String exchangeKey(String vhost, String exchange) {
        return EXCHANGE + vhost + '\u0000' + exchange;
    }

    private static String bindingsFrom(String vhost, String source) {
        return BINDING + vhost + '\u0000' + source + '\u0000';
    }

    static String bindingKey(String vhost, Binding binding) {
        return bindingsFrom(vhost, binding.source().name())
                + binding.destinationType()
                + '\u0000'
                + binding.destinationName()
                + '\u0000'
                + binding.routingKey()
                + '\u0000'
                // sorted: every node must spell the same arguments the same way
                + ByteBufUtil.hexDump(FieldTables.toBytes(canonical(binding.arguments())));
    }

    /**
     * A field table with its keys in order, nested tables (also inside arrays) too: a client may
     * send the same arguments in any order, and equal tables must give one binding key.
     */
    static Map<String, Object> canonical(Map<String, Object> table) {
        Map<String, Object> sorted = new TreeMap<>();
        table.forEach((key, value) -> sorted.put(key, canonicalValue(value)));
        return sorted;
    }

    private static Object canonicalValue(Object value) {
        if (value instanceof Map<?, ?> nested) {
            Map<String, Object> sorted = new TreeMap<>();
            nested.forEach((key, inner) -> sorted.put((String) key, canonicalValue(inner)));
            return sorted;
        }
        if (value instanceof List<?> array) {
            List<Object> copy = new ArrayList<>(array.size());
            array.forEach(element -> copy.add(canonicalValue(element)));
            return copy;
        }
        return value;
    }

    private static byte[] bindingDefinition(Binding binding) {
        Map<String, Object> table = new LinkedHashMap<>();
        table.put("source", binding.source().name());
        table.put("destination_type", binding.destinationType());
        table.put("destination", binding.destinationName());
        table.put("routing_key", binding.routingKey());
        table.put("arguments", canonical(binding.arguments()));
        return FieldTables.toBytes(table);
    }

    private static byte[] exchangeDefinition(
            String type, boolean durable, boolean autoDelete, boolean internal, Map<String, Object> arguments) {
        Map<String, Object> table = new LinkedHashMap<>();
        table.put("type", type);
        table.put("durable", durable);
        table.put("auto_delete", autoDelete);
        table.put("internal", internal);
        table.put("arguments", new TreeMap<>(arguments));
        return FieldTables.toBytes(table);
    }

    @SuppressWarnings("unchecked")
    private static Exchange exchangeOf(String name, byte[] definition) {
        Map<String, Object> d = FieldTables.fromBytes(definition);
        Object arguments = d.get("arguments");
        return VirtualHost.exchangeOf(
                name,
                String.valueOf(d.get("type")),
                Boolean.TRUE.equals(d.get("durable")),
                Boolean.TRUE.equals(d.get("auto_delete")),
                Boolean.TRUE.equals(d.get("internal")),
                arguments instanceof Map<?, ?> m ? (Map<String, Object>) m : Map.of());
    }

    /** The vhost must still exist for a definition in it (the default vhost always does). */
    private static List<MetaOp> inVhost(String vhost, MetaOp... ops) {
        List<MetaOp> all = new ArrayList<>();
        if (!vhost.equals("/")) {
            all.add(new MetaOp.ExpectPresent(vhostKey(vhost)));
        }
        all.addAll(List.of(ops));
        return all;
    }

    private CompletableFuture<MetaResult> submit(List<MetaOp> ops) {
        return submit(ops.toArray(MetaOp[]::new));
    }

    /**
     * Proposes a new exchange; completes with null once it is applied here, or with the exchange
     * in force when another definition of that name came first (the caller compares them).
     */
    CompletableFuture<Exchange> declareExchange(
            String vhost,
            String exchange,
            String type,
            boolean durable,
            boolean autoDelete,
            boolean internal,
            Map<String, Object> arguments) {
        List<MetaOp> ops = inVhost(
                vhost,
                new MetaOp.PutIfAbsent(
                        exchangeKey(vhost, exchange),
                        exchangeDefinition(type, durable, autoDelete, internal, arguments)));
        return submit(ops).thenApply(result -> {
            if (result.applied()) {
                return null;
            }
            if (result.inForce() == null) {
                throw AmqpException.notFound("no vhost '" + vhost + "'");
            }
            return exchangeOf(exchange, result.inForce());
        });
    }

    /**
     * Proposes deleting an exchange with every binding from or to it; completes with false when
     * {@code ifUnused} and it has bindings in the cluster (nothing was deleted).
     */
    CompletableFuture<Boolean> deleteExchange(String vhost, String exchange, boolean ifUnused) {
        List<MetaOp> ops = new ArrayList<>();
        if (ifUnused) {
            ops.add(new MetaOp.ExpectNoPrefix(bindingsFrom(vhost, exchange)));
        }
        ops.add(new MetaOp.Delete(exchangeKey(vhost, exchange)));
        ops.add(new MetaOp.DeletePrefix(bindingsFrom(vhost, exchange)));
        bindingKeysTo(vhost, "exchange", exchange).forEach(key -> ops.add(new MetaOp.Delete(key)));
        return submit(ops).thenApply(MetaResult::applied);
    }

    /** Proposes a binding; completes once applied here, or fails with 404 when an exchange went first. */
    CompletableFuture<Void> bind(String vhost, Binding binding) {
        List<MetaOp> ops = inVhost(vhost);
        String source = binding.source().name();
        if (!VirtualHost.isBuiltIn(source)) {
            ops.add(new MetaOp.ExpectPresent(exchangeKey(vhost, source)));
        }
        if (binding.destination() instanceof Exchange to && !VirtualHost.isBuiltIn(to.name())) {
            ops.add(new MetaOp.ExpectPresent(exchangeKey(vhost, to.name())));
        }
        ops.add(new MetaOp.Put(bindingKey(vhost, binding), bindingDefinition(binding)));
        return submit(ops).thenAccept(result -> {
            if (!result.applied()) {
                throw AmqpException.notFound("no exchange '" + source + "' (or destination) in vhost '" + vhost
                        + "': deleted through another node");
            }
        });
    }

    /**
     * Proposes removing a binding; then, when its source is auto-delete and has no binding left in
     * the cluster, the source too (RabbitMQ deletes such an exchange with its last binding).
     */
    CompletableFuture<Void> unbind(String vhost, Binding binding) {
        return submit(new MetaOp.Delete(bindingKey(vhost, binding)))
                .thenCompose(result -> autoDelete(vhost, binding.source()));
    }

    private CompletableFuture<Void> autoDelete(String vhost, Exchange source) {
        if (!source.autoDelete() || VirtualHost.isBuiltIn(source.name())) {
            return CompletableFuture.completedFuture(null);
        }
        return submit(
                        new MetaOp.ExpectNoPrefix(bindingsFrom(vhost, source.name())),
                        new MetaOp.Delete(exchangeKey(vhost, source.name())))
                .thenAccept(result -> {});
    }

    /**
     * Proposes removing every binding the cluster has to a destination that is gone (a classic
     * queue deleted on its node, a quorum queue deleted through this node), and the auto-delete
     * exchanges left without bindings. Never fails: a failure is logged.
     */
    CompletableFuture<Void> forgetBindingsTo(String vhost, String destinationType, String destination) {
        return forgetBindingsTo(vhost, destinationType, destination, null);
    }

    private CompletableFuture<Void> forgetBindingsTo(
            String vhost, String destinationType, String destination, String alsoKey) {
        List<String> keys = new ArrayList<>(bindingKeysTo(vhost, destinationType, destination));
        if (keys.isEmpty() && alsoKey == null) {
            return CompletableFuture.completedFuture(null);
        }
        List<String> sources = new ArrayList<>();
        for (String key : keys) {
            String source = bindingField(key, 1);
            if (!sources.contains(source)) {
                sources.add(source);
            }
        }
        if (alsoKey != null) {
            keys.add(alsoKey);
        }
        return submit(keys.stream().map(key -> (MetaOp) new MetaOp.Delete(key)).toList())
                .thenCompose(result -> {
                    VirtualHost host = broker.vhost(vhost);
                    List<CompletableFuture<Void>> deletions = new ArrayList<>();
                    for (String source : sources) {
                        Exchange exchange = host == null ? null : host.exchange(source);
                        if (exchange != null) {
                            deletions.add(autoDelete(vhost, exchange));
                        }
                    }
                    return CompletableFuture.allOf(deletions.toArray(CompletableFuture[]::new));
                })
                .exceptionally(failure -> {
                    LOG.warn(
                            "could not remove the cluster's bindings to {} '{}' in vhost '{}': {}",
                            destinationType,
                            destination,
                            vhost,
                            unwrap(failure).toString());
                    return null;
                });
    }

    /** The keys of the bindings to a destination, as applied here. */
    private List<String> bindingKeysTo(String vhost, String destinationType, String destination) {
        ReplicatedMetadata running = meta;
        if (running == null) {
            return List.of();
        }
        List<String> keys = new ArrayList<>();
        for (String key : running.prefix(BINDING + vhost + '\u0000').keySet()) {
            if (bindingField(key, 2).equals(destinationType)
                    && bindingField(key, 3).equals(destination)) {
                keys.add(key);
            }
        }
        return keys;
    }

    /** Field {@code i} of a binding key: 0 vhost, 1 source, 2 destination type, 3 destination. */
    private static String bindingField(String key, int i) {
        String[] fields = key.substring(BINDING.length()).split("\u0000", -1);
        return i < fields.length ? fields[i] : "";
    }

    /**
     * An end of bindings appeared in {@code vhost} on this node (a quorum queue, an exchange): makes
     * the cluster's bindings of the vhost whose ends are both here now.
     */
    void bindingsAppeared(VirtualHost vhost) {
        ReplicatedMetadata running = meta;
        if (running == null) {
            return; // at start, before attach: the group's own replay brings the bindings
        }
        for (String key : running.prefix(BINDING + vhost.name() + '\u0000').keySet()) {
            applyBinding(true, key, () -> running.get(key) != null);
        }
    }

    /** Makes or removes the binding a key names, when both its ends exist here. */
    private void applyBinding(boolean bind, String key, BooleanSupplier stillReplicated) {
        String[] f = key.substring(BINDING.length()).split("\u0000", -1);
        if (f.length != 6) {
            LOG.warn(
                    "ignoring the cluster's binding '{}': not vhost, source, type, destination, key, arguments",
                    printable(key));
            return;
        }
        VirtualHost vhost = broker.vhost(f[0]);
        if (vhost != null) {
            Map<String, Object> arguments = FieldTables.fromBytes(ByteBufUtil.decodeHexDump(f[5]));
            vhost.applyBinding(bind, f[1], f[2], f[3], f[4], arguments, stillReplicated);
        }
    }

    // ---------------------------------------------------------------- applying (apply thread)

    /** Applies the group's changes to this node's vhosts, exchanges and bindings, in order. */
    public void changed(List<MetaChange> changes) {
        for (MetaChange change : changes) {
            try {
                apply(change.key(), change.value());
            } catch (RuntimeException e) {
                // one bad definition must not stop the others (or the group's apply thread)
                LOG.warn("cannot apply the cluster's change of '{}' here: {}", printable(change.key()), e.toString());
            }
        }
    }

    private void apply(String key, byte[] value) {
        if (key.startsWith(VHOST)) {
            String name = key.substring(VHOST.length());
            if (value != null) {
                broker.vhostCreated(name);
            } else {
                broker.vhostRemoved(name);
            }
        } else if (key.startsWith(EXCHANGE)) {
            int nul = key.indexOf('\u0000');
            VirtualHost vhost = broker.vhost(key.substring(EXCHANGE.length(), nul));
            String exchange = key.substring(nul + 1);
            if (vhost == null) {
                return;
            }
            if (value != null) {
                vhost.applyExchange(exchangeOf(exchange, value));
                bindingsAppeared(vhost); // bindings applied before, e.g. to it from another exchange
            } else {
                vhost.applyExchangeRemoved(exchange);
            }
        } else if (key.startsWith(BINDING)) {
            applyBinding(value != null, key, () -> true);
        } else if (key.startsWith(QUEUE)) {
            int nul = key.indexOf('\u0000');
            VirtualHost vhost = broker.vhost(key.substring(QUEUE.length(), nul));
            String queue = key.substring(nul + 1);
            if (vhost == null) {
                return;
            }
            Map<String, Object> d = value == null ? null : FieldTables.fromBytes(value);
            String node = d == null ? null : String.valueOf(d.get("node"));
            if (node == null || node.equals(nodeId())) {
                vhost.applyRemoteQueueGone(queue); // this node's own queues are its own business
            } else {
                vhost.applyRemoteQueue(queue, node, d);
            }
        }
    }

    /**
     * The group's whole state after a snapshot restore: this node's vhosts, exchanges and bindings
     * become exactly those (the default vhost included: it is replicated like the others).
     */
    public void restored(SortedMap<String, byte[]> map) {
        List<String> vhosts = new ArrayList<>();
        map.forEach((key, value) -> {
            if (key.startsWith(VHOST)) {
                vhosts.add(key.substring(VHOST.length()));
            }
        });
        if (caughtUp) {
            for (VirtualHost known : broker.vhosts()) {
                if (!vhosts.contains(known.name())) {
                    broker.vhostRemoved(known.name());
                }
            }
        }
        vhosts.forEach(broker::vhostCreated);
        for (VirtualHost vhost : broker.vhosts()) {
            String prefix = EXCHANGE + vhost.name() + '\u0000';
            for (Exchange exchange : vhost.exchanges()) {
                if (!VirtualHost.isBuiltIn(exchange.name()) && !map.containsKey(prefix + exchange.name())) {
                    vhost.applyExchangeRemoved(exchange.name());
                }
            }
            for (Binding stale : vhost.bindingsNotIn(binding -> map.containsKey(bindingKey(vhost.name(), binding)))) {
                vhost.dropBinding(stale);
            }
        }
        map.forEach((key, value) -> {
            if (key.startsWith(EXCHANGE) || key.startsWith(QUEUE)) {
                apply(key, value);
            }
        });
        for (VirtualHost vhost : broker.vhosts()) {
            vhost.retainRemoteQueues(queue -> map.containsKey(queueKey(vhost.name(), queue)));
        }
        map.forEach((key, value) -> {
            if (key.startsWith(BINDING)) {
                applyBinding(true, key, () -> true);
            }
        });
    }

    private static String printable(String key) {
        return key.replace('\u0000', '|');
    }
}
