package dev.courier.server.amqp;

import dev.courier.broker.Broker;
import dev.courier.server.ServerConfig;
import io.micrometer.core.instrument.Timer;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * What every connection of one server shares: configuration, the broker, authentication, the
 * direct reply-to registry, the set of open connections and the current resource alarm (why
 * publishers are blocked, or null), and the publish-to-confirm latency timer. All members are
 * thread-safe.
 */
public record ServerContext(
        ServerConfig config,
        Broker broker,
        Authenticator authenticator,
        DirectReplyTo directReplyTo,
        Set<Object> connections,
        Supplier<String> alarm,
        AtomicInteger openChannels,
        Timer confirmLatency) {}
