package dev.courier.server.amqp;

import java.util.Collection;
import java.util.concurrent.CompletableFuture;

/** What operators (the management API) may see and do with an open AMQP connection; thread-safe. */
public interface ManagedConnection {
    /** RabbitMQ's name for the connection, {@code "peerHost:peerPort -> host:port"}. */
    String name();

    /** A snapshot taken on the connection's event loop; null when it is not open (handshake, closing). */
    CompletableFuture<ConnectionInfo> describe();

    /** Closes the connection with 320 CONNECTION_FORCED and this reason. */
    void forceClose(String reason);

    /**
     * Whether another node of the cluster opened this connection to reach this node's queues. Such
     * a link is not a client: as in RabbitMQ, operators do not see it among the connections, and
     * it counts towards no client limit.
     */
    boolean nodeLink();

    /** Whether an entry of the server's connection set is a client's connection (not a node link). */
    static boolean isClient(Object connection) {
        return !(connection instanceof ManagedConnection managed && managed.nodeLink());
    }

    /** How many of {@code connections} are clients' connections. */
    static int clients(Collection<Object> connections) {
        int clients = 0;
        for (Object connection : connections) {
            if (isClient(connection)) {
                clients++;
            }
        }
        return clients;
    }
}
