package dev.courier.broker;

import dev.courier.protocol.FieldTables;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * An exchange: routes a message to the destinations (queues or exchanges) of its matching
 * bindings.
 *
 * <p>Bindings change under the vhost lock; each change installs a new immutable routing table,
 * which routing reads without a lock from any thread. The properties are immutable.
 */
public abstract class Exchange {
    private final String name;
    private final String type;
    private final boolean durable;
    private final boolean autoDelete;
    private final boolean internal;
    private final Map<String, Object> arguments;
    private final String alternateExchange;
    private volatile List<Binding> bindings = List.of();

    Exchange(
            String name,
            String type,
            boolean durable,
            boolean autoDelete,
            boolean internal,
            Map<String, Object> arguments) {
        this.name = name;
        this.type = type;
        this.durable = durable;
        this.autoDelete = autoDelete;
        this.internal = internal;
        this.arguments = arguments == null ? Map.of() : Map.copyOf(withoutNulls(arguments));
        this.alternateExchange = FieldTables.getString(this.arguments, "alternate-exchange");
    }

    /** A copy without void-valued entries (Map.copyOf refuses nulls; void arguments mean "unset"). */
    static Map<String, Object> withoutNulls(Map<String, Object> arguments) {
        Map<String, Object> copy = new HashMap<>(arguments);
        copy.values().removeIf(Objects::isNull);
        return copy;
    }

    /** An immutable copy that keeps void (null) values, as binding arguments need them. */
    static Map<String, Object> immutableCopy(Map<String, Object> arguments) {
        if (arguments == null || arguments.isEmpty()) {
            return Map.of();
        }
        return Collections.unmodifiableMap(new HashMap<>(arguments));
    }

    public String name() {
        return name;
    }

    /** direct, fanout, topic or headers. */
    public String type() {
        return type;
    }

    public boolean durable() {
        return durable;
    }

    public boolean autoDelete() {
        return autoDelete;
    }

    /** Internal exchanges take no publishes from clients, only from other exchanges. */
    public boolean internal() {
        return internal;
    }

    public Map<String, Object> arguments() {
        return arguments;
    }

    /** The alternate-exchange argument, or null. */
    String alternateExchange() {
        return alternateExchange;
    }

    /** The bindings with this exchange as source; an immutable snapshot. */
    public List<Binding> bindings() {
        return bindings;
    }

    /** Installs new bindings; called under the vhost lock. */
    final void bindings(List<Binding> updated) {
        rebuild(updated);
        bindings = List.copyOf(updated);
    }

    /**
     * Checks a new binding's arguments for this type (headers: x-match).
     *
     * @throws AmqpException 406 when they are invalid
     */
    void validateBinding(Binding binding) {}

    /** Rebuilds the routing table for these bindings; called under the vhost lock. */
    abstract void rebuild(List<Binding> updated);

    /**
     * Passes each matching destination (a queue or an exchange) to {@code router}; lock-free and
     * callable from any thread.
     */
    abstract void route(Router router);

    /** Whether {@link #route} may pass the same destination more than once. */
    boolean mayRepeat() {
        return false;
    }

    @Override
    public String toString() {
        return "exchange '" + name + "'";
    }
}
