package dev.courier.server.amqp;

import java.util.LinkedHashMap;
import java.util.Map;

/** The server-properties table of connection.start, with the capabilities RabbitMQ announces. */
public final class ServerProperties {
    /** Courier's version, from the jar manifest when packaged. */
    public static final String VERSION = versionOf();

    private static final Map<String, Object> PROPERTIES = build();

    private ServerProperties() {}

    static Map<String, Object> create() {
        return PROPERTIES;
    }

    private static Map<String, Object> build() {
        Map<String, Object> capabilities = new LinkedHashMap<>();
        capabilities.put("publisher_confirms", true);
        capabilities.put("exchange_exchange_bindings", true);
        capabilities.put("basic.nack", true);
        capabilities.put("consumer_cancel_notify", true);
        capabilities.put("connection.blocked", true);
        capabilities.put("consumer_priorities", true);
        capabilities.put("authentication_failure_close", true);
        capabilities.put("per_consumer_qos", true);
        capabilities.put("direct_reply_to", true);
        Map<String, Object> properties = new LinkedHashMap<>();
        properties.put("capabilities", Map.copyOf(capabilities));
        properties.put("cluster_name", "courier");
        properties.put("copyright", "Copyright (c) the Courier authors");
        properties.put("information", "Courier, an AMQP 0-9-1 message broker for the JVM");
        properties.put("platform", "Java " + Runtime.version());
        properties.put("product", "Courier");
        properties.put("version", VERSION);
        return java.util.Collections.unmodifiableMap(properties);
    }

    private static String versionOf() {
        String version = ServerProperties.class.getPackage().getImplementationVersion();
        return version == null ? "0.1.0-SNAPSHOT" : version;
    }
}
