package dev.courier.server.amqp;

import java.util.concurrent.CompletableFuture;

/** What operators (the management API) may see and do with an open AMQP connection; thread-safe. */
public interface ManagedConnection {
    /** RabbitMQ's name for the connection, {@code "peerHost:peerPort -> host:port"}. */
    String name();

    /** A snapshot taken on the connection's event loop; null when it is not open (handshake, closing). */
    CompletableFuture<ConnectionInfo> describe();

    /** Closes the connection with 320 CONNECTION_FORCED and this reason. */
    void forceClose(String reason);
}
