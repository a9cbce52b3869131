package dev.courier.server.amqp;

import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.group.ChannelGroup;
import io.netty.handler.flush.FlushConsolidationHandler;
import io.netty.handler.ssl.SslContext;

/**
 * Builds the pipeline of each accepted AMQP socket: flush consolidation, frame decoding, then
 * the connection state machine. Thread-safe; shared by all child channels.
 */
public final class AmqpChannelInitializer extends ChannelInitializer<Channel> {
    private final ServerContext server;
    private final SslContext tls;
    private final ChannelGroup clientChannels;

    /**
     * @param tls for the AMQPS listener (TLS first, then the same pipeline); null for plain AMQP
     * @param clientChannels where every accepted socket is registered, so the server can close
     *     them all when it stops
     */
    public AmqpChannelInitializer(ServerContext server, SslContext tls, ChannelGroup clientChannels) {
        this.server = server;
        this.tls = tls;
        this.clientChannels = clientChannels;
    }

    /** Tells a connection (an element of the server's connection set) that the resource alarm cleared. */
    public static void alarmCleared(Object connection) {
        if (connection instanceof AmqpConnection amqp) {
            amqp.onAlarmCleared();
        }
    }

    @Override
    protected void initChannel(Channel channel) {
        clientChannels.add(channel);
        AmqpFrameDecoder decoder = new AmqpFrameDecoder(server.config().frameMaxBytes());
        if (tls != null) {
            channel.pipeline().addLast("tls", tls.newHandler(channel.alloc()));
        }
        channel.pipeline()
                .addLast("flush", new FlushConsolidationHandler(256, true))
                .addLast("frames", decoder)
                .addLast("amqp", new AmqpConnection(server, decoder));
    }
}
