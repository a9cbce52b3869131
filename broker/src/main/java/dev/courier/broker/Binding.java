package dev.courier.broker;

import java.util.Map;

/**
 * A binding from a source exchange to a destination (a queue or another exchange). Immutable;
 * two bindings are equal when source, destination, key and arguments are.
 *
 * @param destination a {@link MessageQueue} or an {@link Exchange}
 * @param arguments binding arguments (x-match and header values for headers exchanges); void
 *     (null) values are kept, they mean "present" to a headers exchange
 */
public record Binding(Exchange source, Object destination, String routingKey, Map<String, Object> arguments) {
    public Binding {
        arguments = Exchange.immutableCopy(arguments);
    }

    /** The destination's name, for listings. */
    public String destinationName() {
        return destination instanceof MessageQueue q ? q.name() : ((Exchange) destination).name();
    }

    /** "queue" or "exchange", as the management API names destination types. */
    public String destinationType() {
        return destination instanceof MessageQueue ? "queue" : "exchange";
    }
}
