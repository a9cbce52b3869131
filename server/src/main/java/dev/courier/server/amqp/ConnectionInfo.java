package dev.courier.server.amqp;

import java.util.List;
import java.util.Map;

/**
 * What the management API shows of one open AMQP connection: a snapshot taken on the
 * connection's event loop.
 *
 * @param name RabbitMQ's connection name, {@code "peerHost:peerPort -> host:port"}
 * @param clientProperties the client's connection.start-ok properties
 * @param connectedAtMs when the socket was accepted (wall clock)
 */
public record ConnectionInfo(
        String name,
        String user,
        String vhost,
        String peerHost,
        int peerPort,
        String host,
        int port,
        Map<String, Object> clientProperties,
        long connectedAtMs,
        int channelMax,
        int frameMax,
        int heartbeatSeconds,
        boolean blocked,
        List<ChannelInfo> channels) {
    public ConnectionInfo {
        clientProperties = Map.copyOf(clientProperties);
        channels = List.copyOf(channels);
    }

    /** One channel of the connection. */
    public record ChannelInfo(
            int number,
            int consumerCount,
            int prefetchCount,
            int globalPrefetchCount,
            int unacknowledged,
            boolean confirm,
            List<ConsumerInfo> consumers) {
        public ChannelInfo {
            consumers = List.copyOf(consumers);
        }
    }

    /** One basic.consume on a channel. */
    public record ConsumerInfo(
            String consumerTag, String queue, boolean ackRequired, int prefetchCount, int priority) {}
}
