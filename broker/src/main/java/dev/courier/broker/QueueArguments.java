package dev.courier.broker;

import dev.courier.protocol.FieldTables;
import java.util.Map;

/**
 * A queue's x-arguments, parsed and checked once at declare time with RabbitMQ's names and
 * meanings. Invalid values answer 406 PRECONDITION_FAILED with a text naming the argument.
 *
 * @param maxPriority highest message priority honoured (0 = no priorities)
 * @param messageTtlMs x-message-ttl, or -1
 * @param expiresMs x-expires (queue deleted after being unused this long), or -1
 * @param maxLength x-max-length (ready messages), or -1
 * @param maxLengthBytes x-max-length-bytes (ready message bodies), or -1
 * @param overflow what happens when a length limit is reached
 * @param deadLetterExchange x-dead-letter-exchange, or null
 * @param deadLetterRoutingKey x-dead-letter-routing-key, or null (keep the message's own)
 * @param deliveryLimit x-delivery-limit (failed deliveries before dead-lettering), or -1
 * @param singleActiveConsumer x-single-active-consumer
 * @param deduplication x-message-deduplication: drop a message whose key was enqueued within the window
 * @param deduplicationWindowMs x-deduplication-window (default 120,000 ms)
 * @param deduplicationMaxKeys x-deduplication-max-keys: keys remembered at most (default 1,000,000)
 * @param deduplicationHeader x-deduplication-header: the header holding the key, or null (then the
 *     message_id property is the key)
 */
public record QueueArguments(
        int maxPriority,
        long messageTtlMs,
        long expiresMs,
        long maxLength,
        long maxLengthBytes,
        Overflow overflow,
        String deadLetterExchange,
        String deadLetterRoutingKey,
        long deliveryLimit,
        boolean singleActiveConsumer,
        boolean deduplication,
        long deduplicationWindowMs,
        long deduplicationMaxKeys,
        String deduplicationHeader) {

    /** Default x-deduplication-window: two minutes. */
    public static final long DEFAULT_DEDUPLICATION_WINDOW_MS = 120_000;
    /** Default x-deduplication-max-keys. */
    public static final long DEFAULT_DEDUPLICATION_MAX_KEYS = 1_000_000;

    /** x-overflow values. */
    public enum Overflow {
        DROP_HEAD("drop-head"),
        REJECT_PUBLISH("reject-publish"),
        REJECT_PUBLISH_DLX("reject-publish-dlx");

        private final String argument;

        Overflow(String argument) {
            this.argument = argument;
        }

        public String argument() {
            return argument;
        }
    }

    /** No arguments: a plain FIFO queue. */
    public static final QueueArguments NONE = new QueueArguments(
            0,
            -1,
            -1,
            -1,
            -1,
            Overflow.DROP_HEAD,
            null,
            null,
            -1,
            false,
            false,
            DEFAULT_DEDUPLICATION_WINDOW_MS,
            DEFAULT_DEDUPLICATION_MAX_KEYS,
            null);

    /** True when messages of this queue may be dead-lettered somewhere. */
    public boolean deadLettering() {
        return deadLetterExchange != null;
    }

    /**
     * Parses and validates.
     *
     * @throws AmqpException 406 naming the first invalid argument
     */
    public static QueueArguments parse(String queue, String vhost, Map<String, Object> arguments) {
        if (arguments == null || arguments.isEmpty()) {
            return NONE;
        }
        Parser p = new Parser(queue, vhost, arguments);
        String type = p.string("x-queue-type");
        if (type != null && !type.equals("classic") && !type.equals("quorum")) {
            throw p.invalid("x-queue-type", "'" + type + "' is not supported (only 'classic' and 'quorum')");
        }
        int maxPriority = (int) p.integer("x-max-priority", 1, 255, 0);
        long ttl = p.integer("x-message-ttl", 0, Integer.MAX_VALUE, -1);
        long expires = p.integer("x-expires", 1, Integer.MAX_VALUE, -1);
        long maxLength = p.integer("x-max-length", 0, Long.MAX_VALUE, -1);
        long maxLengthBytes = p.integer("x-max-length-bytes", 0, Long.MAX_VALUE, -1);
        long deliveryLimit = p.integer("x-delivery-limit", 0, Long.MAX_VALUE, -1);
        String overflowName = p.string("x-overflow");
        Overflow overflow = Overflow.DROP_HEAD;
        if (overflowName != null) {
            overflow = null;
            for (Overflow candidate : Overflow.values()) {
                if (candidate.argument.equals(overflowName)) {
                    overflow = candidate;
                }
            }
            if (overflow == null) {
                throw p.invalid(
                        "x-overflow",
                        "'" + overflowName + "' is not one of drop-head, reject-publish, reject-publish-dlx");
            }
        }
        String dlx = p.string("x-dead-letter-exchange");
        String dlrk = p.string("x-dead-letter-routing-key");
        if (dlrk != null && dlx == null) {
            throw p.invalid("x-dead-letter-routing-key", "defined, but x-dead-letter-exchange is not");
        }
        Boolean sac = FieldTables.getBoolean(arguments, "x-single-active-consumer");
        if (arguments.containsKey("x-single-active-consumer") && sac == null) {
            throw p.invalid(
                    "x-single-active-consumer",
                    "expected a boolean, got " + describe(arguments.get("x-single-active-consumer")));
        }
        Boolean dedup = FieldTables.getBoolean(arguments, "x-message-deduplication");
        if (arguments.containsKey("x-message-deduplication") && dedup == null) {
            throw p.invalid(
                    "x-message-deduplication",
                    "expected a boolean, got " + describe(arguments.get("x-message-deduplication")));
        }
        long window = p.integer("x-deduplication-window", 1, Long.MAX_VALUE, DEFAULT_DEDUPLICATION_WINDOW_MS);
        long maxKeys = p.integer("x-deduplication-max-keys", 1, 100_000_000, DEFAULT_DEDUPLICATION_MAX_KEYS);
        String header = p.string("x-deduplication-header");
        return new QueueArguments(
                maxPriority,
                ttl,
                expires,
                maxLength,
                maxLengthBytes,
                overflow,
                dlx,
                dlrk,
                deliveryLimit,
                sac != null && sac,
                dedup != null && dedup,
                window,
                maxKeys,
                header);
    }

    private static String describe(Object value) {
        return value == null ? "void" : value.getClass().getSimpleName() + " " + value;
    }

    private record Parser(String queue, String vhost, Map<String, Object> arguments) {
        AmqpException invalid(String argument, String why) {
            return AmqpException.preconditionFailed(
                    "invalid arg '" + argument + "' for queue '" + queue + "' in vhost '" + vhost + "': " + why);
        }

        long integer(String argument, long min, long max, long absent) {
            if (!arguments.containsKey(argument)) {
                return absent;
            }
            Long value = FieldTables.getLong(arguments, argument);
            if (value == null) {
                throw invalid(argument, "expected an integer, got " + describe(arguments.get(argument)));
            }
            if (value < min || value > max) {
                throw invalid(argument, value + " is outside " + min + ".." + max);
            }
            return value;
        }

        String string(String argument) {
            if (!arguments.containsKey(argument)) {
                return null;
            }
            String value = FieldTables.getString(arguments, argument);
            if (value == null) {
                throw invalid(argument, "expected a string, got " + describe(arguments.get(argument)));
            }
            return value;
        }
    }
}
