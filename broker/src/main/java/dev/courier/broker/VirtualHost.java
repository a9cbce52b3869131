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
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final List<String> TYPES = List.of("direct", "fanout", "topic", "headers");

    private final String name;
    private final QueueRuntime runtime;
    private final DurableState durable;
    private final ConcurrentHashMap<String, Exchange> exchanges = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, MessageQueue> queues = new ConcurrentHashMap<>();
    private final Object lock = new Object();

    VirtualHost(String name, QueueRuntime runtime, DurableState durable) {
        this.name = name;
        this.runtime = runtime;
        this.durable = durable;
        exchanges.put("", new DefaultExchange(queues));
        for (String type : TYPES) {
            exchanges.put("amq." + type, create("amq." + type, type, true, false, false, Map.of()));
        }
        exchanges.put("amq.match", create("amq.match", "headers", true, false, false, Map.of()));
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

    public void declareExchange(
            String exchange,
            String type,
            boolean passive,
            boolean durable,
            boolean autoDelete,
            boolean internal,
            Map<String, Object> arguments) {
        synchronized (lock) {
            Exchange existing = exchanges.get(exchange);
            if (passive) {
                if (existing == null) {
                    throw AmqpException.notFound(noExchange(exchange));
                }
                return;
            }
            if (exchange.isEmpty()) {
                throw AmqpException.accessRefused("operation not permitted on the default exchange");
            }
            if (!TYPES.contains(type)) {
                throw AmqpException.commandInvalid("invalid exchange type '" + type + "'");
            }
            if (existing != null) {
                checkEquivalent("exchange", exchange, "type", type, existing.type());
                checkEquivalent("exchange", exchange, "durable", durable, existing.durable());
                checkEquivalent("exchange", exchange, "auto_delete", autoDelete, existing.autoDelete());
                checkEquivalent("exchange", exchange, "internal", internal, existing.internal());
                checkEquivalentArguments("exchange", exchange, arguments, existing.arguments());
                return;
            }
            if (exchange.startsWith("amq.")) {
                throw AmqpException.accessRefused("exchange name '" + exchange + "' contains reserved prefix 'amq.*'");
            }
            Exchange created = create(exchange, type, durable, autoDelete, internal, arguments);
            exchanges.put(exchange, created);
            if (durable && this.durable != null) {
                this.durable.recordExchange(created);
            }
        }
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

    public void deleteExchange(String exchange, boolean ifUnused) {
        synchronized (lock) {
            if (exchange.isEmpty() || exchange.startsWith("amq.")) {
                throw AmqpException.accessRefused(
                        "operation not permitted on exchange '" + exchange + "' in vhost '" + name + "'");
            }
            Exchange existing = exchanges.get(exchange);
            if (existing == null) {
                return; // RabbitMQ: deleting a missing exchange succeeds
            }
            if (ifUnused && !existing.bindings().isEmpty()) {
                throw AmqpException.preconditionFailed("exchange '" + exchange + "' in vhost '" + name + "' in use");
            }
            removeExchange(existing);
        }
    }

    private void removeExchange(Exchange exchange) {
        exchanges.remove(exchange.name(), exchange);
        for (Binding binding : exchange.bindings()) {
            forget(binding);
        }
        exchange.bindings(List.of());
        removeBindingsTo(exchange);
        if (exchange.durable() && durable != null) {
            durable.forgetExchange(exchange.name());
        }
    }

    /** True when the exchange exists and is internal (clients may not publish to it). */
    public boolean isInternal(String exchange) {
        Exchange x = exchanges.get(exchange);
        return x != null && x.internal();
    }

    // ---------------------------------------------------------------- queues

    public CompletableFuture<QueueDeclareOk> declareQueue(
            String queue,
            boolean passive,
            boolean durable,
            boolean exclusive,
            boolean autoDelete,
            Map<String, Object> arguments,
            Object owner) {
        MessageQueue target;
        synchronized (lock) {
            MessageQueue existing = queue.isEmpty() ? null : queues.get(queue);
            if (passive) {
                if (existing == null) {
                    throw AmqpException.notFound(noQueue(queue));
                }
                checkExclusiveAccess(existing, owner);
                return existing.declareOk();
            }
            if (existing != null) {
                checkExclusiveAccess(existing, owner);
                if (exclusive && !existing.exclusive()) {
                    throw AmqpException.resourceLocked(locked(queue));
                }
                checkEquivalent("queue", queue, "durable", durable, existing.durable());
                checkEquivalent("queue", queue, "auto_delete", autoDelete, existing.autoDelete());
                checkEquivalentArguments("queue", queue, arguments, existing.arguments());
                return existing.declareOk();
            }
            String queueName = queue.isEmpty() ? generatedName() : queue;
            if (!queue.isEmpty() && queue.startsWith("amq.")) {
                throw AmqpException.accessRefused("queue name '" + queue + "' contains reserved prefix 'amq.*'");
            }
            Map<String, Object> args = arguments == null ? Map.of() : Map.copyOf(Exchange.withoutNulls(arguments));
            target = newQueue(queueName, durable, exclusive, autoDelete, args, exclusive ? owner : null);
            queues.put(queueName, target);
            if (this.durable != null && DurableState.isDurable(target)) {
                this.durable.recordQueue(target);
            }
        }
        return target.declareOk();
    }

    private MessageQueue newQueue(
            String queueName,
            boolean isDurable,
            boolean exclusive,
            boolean autoDelete,
            Map<String, Object> args,
            Object owner) {
        QueueArguments features = QueueArguments.parse(queueName, name, args);
        boolean stored = durable != null && isDurable && !exclusive;
        return new MessageQueue(
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
                stored ? durable.storeQueue(queueName) : null);
    }

    /** Recreates a durable queue found in the store at start-up. */
    MessageQueue restoreQueue(String queueName, boolean autoDelete, Map<String, Object> args) {
        synchronized (lock) {
            MessageQueue queue = newQueue(queueName, true, false, autoDelete, args, null);
            queues.put(queueName, queue);
            return queue;
        }
    }

    /** Recreates a durable binding found in the store at start-up. */
    void restoreBinding(
            String source, String destination, String destinationType, String routingKey, Map<String, Object> args) {
        synchronized (lock) {
            Exchange from = bindableSource(source);
            Object to = destinationType.equals("queue") ? queue(destination, null) : bindableDestination(destination);
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

    public CompletableFuture<Integer> deleteQueue(String queue, boolean ifUnused, boolean ifEmpty, Object owner) {
        MessageQueue existing = queues.get(queue);
        if (existing == null) {
            return CompletableFuture.completedFuture(0); // RabbitMQ: deleting a missing queue succeeds
        }
        checkExclusiveAccess(existing, owner);
        return existing.delete(ifUnused, ifEmpty);
    }

    public CompletableFuture<Integer> purgeQueue(String queue, Object owner) {
        return queue(queue, owner).purge();
    }

    /** Looks a queue up for consume/get/purge: 404 when missing, 405 for another connection's exclusive queue. */
    public MessageQueue queue(String queue, Object owner) {
        MessageQueue existing = queues.get(queue);
        if (existing == null) {
            throw AmqpException.notFound(noQueue(queue));
        }
        checkExclusiveAccess(existing, owner);
        return existing;
    }

    /** Called on the queue's actor once it marked itself deleted: forget it and its bindings. */
    void removeQueue(MessageQueue queue) {
        synchronized (lock) {
            queues.remove(queue.name(), queue);
            removeBindingsTo(queue);
            if (durable != null && DurableState.isDurable(queue)) {
                durable.forgetQueue(queue, queue.storeQueue());
            }
        }
    }

    /** Called on the queue's actor when an auto-delete queue lost its last consumer. */
    void autoDeleteQueue(MessageQueue queue) {
        queue.delete(false, false);
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

    public void bindQueue(
            String queue, String exchange, String routingKey, Map<String, Object> arguments, Object owner) {
        synchronized (lock) {
            MessageQueue destination = queue(queue, owner);
            Exchange source = bindableSource(exchange);
            addBinding(new Binding(source, destination, routingKey, arguments));
        }
    }

    public void unbindQueue(
            String queue, String exchange, String routingKey, Map<String, Object> arguments, Object owner) {
        synchronized (lock) {
            MessageQueue destination = queue(queue, owner);
            Exchange source = bindableSource(exchange);
            removeBinding(new Binding(source, destination, routingKey, arguments));
        }
    }

    public void bindExchange(String destination, String source, String routingKey, Map<String, Object> arguments) {
        synchronized (lock) {
            Exchange to = bindableDestination(destination);
            Exchange from = bindableSource(source);
            addBinding(new Binding(from, to, routingKey, arguments));
        }
    }

    public void unbindExchange(String destination, String source, String routingKey, Map<String, Object> arguments) {
        synchronized (lock) {
            Exchange to = bindableDestination(destination);
            Exchange from = bindableSource(source);
            removeBinding(new Binding(from, to, routingKey, arguments));
        }
    }

    private Exchange bindableSource(String exchange) {
        if (exchange.isEmpty()) {
            throw AmqpException.accessRefused("operation not permitted on the default exchange");
        }
        Exchange x = exchanges.get(exchange);
        if (x == null) {
            throw AmqpException.notFound(noExchange(exchange));
        }
        return x;
    }

    private Exchange bindableDestination(String exchange) {
        return bindableSource(exchange);
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
            durable.recordBinding(binding);
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
            durable.forgetBinding(binding);
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
        if (exchange.autoDelete() && exchange.bindings().isEmpty() && exchanges.get(exchange.name()) == exchange) {
            removeExchange(exchange);
        }
    }

    // ---------------------------------------------------------------- routing (lock-free)

    /**
     * Collects the distinct queues a message published to {@code exchange} reaches, following
     * exchange-to-exchange bindings and alternate exchanges, each exchange at most once.
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
        new Router(routingKey, message, out).route(x);
    }

    /**
     * Hands a routed message to its queues; the caller's reference is not consumed. A persistent
     * message is written once to the store for all its durable queues, and those queues report it
     * taken only after the write is fsynced; {@code listener} (nullable) hears once per queue.
     */
    public void enqueue(Message message, List<MessageQueue> targets, EnqueueListener listener) {
        long storeId = 0;
        CompletableFuture<Void> stored = null;
        if (durable != null && anyStored(targets) && message.persistent()) {
            List<dev.courier.store.StoreQueue> storeQueues = null;
            for (int i = 0, n = targets.size(); i < n; i++) {
                dev.courier.store.StoreQueue storeQueue = targets.get(i).storeQueue();
                if (storeQueue != null) {
                    if (storeQueues == null) {
                        storeQueues = new ArrayList<>(n);
                    }
                    storeQueues.add(storeQueue);
                }
            }
            if (storeQueues != null) {
                storeId = durable.nextMessageId();
                stored = durable.persist(message, storeId, storeQueues);
            }
        }
        for (int i = 0, n = targets.size(); i < n; i++) {
            MessageQueue target = targets.get(i);
            if (stored != null && target.storeQueue() != null) {
                target.enqueue(message.retain(), listener, storeId, stored);
            } else {
                target.enqueue(message.retain(), listener);
            }
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

    /** One routing pass; remembers visited exchanges to break cycles. */
    private final class Router implements java.util.function.Consumer<Object> {
        private final String routingKey;
        private final Message message;
        private final List<MessageQueue> out;
        private List<Exchange> visited;
        private Exchange current;

        Router(String routingKey, Message message, List<MessageQueue> out) {
            this.routingKey = routingKey;
            this.message = message;
            this.out = out;
        }

        void route(Exchange exchange) {
            if (visited == null) {
                visited = new ArrayList<>(2);
            } else if (visited.contains(exchange)) {
                return;
            }
            visited.add(exchange);
            int before = out.size();
            Exchange previous = current;
            current = exchange;
            exchange.route(routingKey, message, this);
            current = previous;
            if (out.size() == before && exchange.alternateExchange() != null) {
                Exchange alternate = exchanges.get(exchange.alternateExchange());
                if (alternate != null) {
                    route(alternate);
                }
            }
        }

        @Override
        public void accept(Object destination) {
            if (destination instanceof MessageQueue queue) {
                if (!contains(queue)) {
                    out.add(queue);
                }
            } else {
                route((Exchange) destination);
            }
        }

        private boolean contains(MessageQueue queue) {
            for (int i = 0, n = out.size(); i < n; i++) {
                if (out.get(i) == queue) {
                    return true;
                }
            }
            return false;
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

    private void checkEquivalentArguments(
            String kind, String object, Map<String, Object> received, Map<String, Object> current) {
        Map<String, Object> given = received == null ? Map.of() : Exchange.withoutNulls(received);
        java.util.Set<String> keys = new java.util.TreeSet<>(given.keySet());
        keys.addAll(current.keySet());
        for (String key : keys) {
            if (!key.startsWith("x-") && !key.equals("alternate-exchange")) {
                continue;
            }
            Object a = given.get(key);
            Object b = current.get(key);
            boolean same = a instanceof Number x && b instanceof Number y
                    ? x.longValue() == y.longValue()
                    : Objects.equals(a, b);
            if (!same) {
                throw AmqpException.preconditionFailed("inequivalent arg '" + key + "' for " + kind + " '" + object
                        + "' in vhost '" + name + "': received " + describe(a) + " but current is " + describe(b));
            }
        }
    }

    private static String describe(Object value) {
        return value == null ? "none" : "the value '" + value + "'";
    }
}
