package dev.courier.server.amqp;

import dev.courier.broker.Broker;
import dev.courier.server.ServerConfig;
import java.util.Set;

/**
 * What every connection of one server shares: configuration, the broker, authentication, the
 * direct reply-to registry and the set of open connections. All members are thread-safe.
 */
public record ServerContext(
        ServerConfig config,
        Broker broker,
        Authenticator authenticator,
        DirectReplyTo directReplyTo,
        Set<Object> connections) {}
