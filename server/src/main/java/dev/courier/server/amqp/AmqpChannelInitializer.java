package dev.courier.server.amqp;

import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.handler.flush.FlushConsolidationHandler;
import io.netty.handler.ssl.SslContext;

/**
 * Builds the pipeline of each accepted AMQP socket: flush consolidation, frame decoding, then
 * the connection state machine. Thread-safe; shared by all child channels.
 */
public final class AmqpChannelInitializer extends ChannelInitializer<Channel> {
    private final ServerContext server;
    private final SslContext tls;

    public AmqpChannelInitializer(ServerContext server) {
        this(server, null);
    }

    /** For the AMQPS listener: TLS first, then the same pipeline. */
    public AmqpChannelInitializer(ServerContext server, SslContext tls) {
        this.server = server;
        this.tls = tls;
    }

    /** Tells a connection (an element of the server's connection set) that the resource alarm cleared. */
    public static void alarmCleared(Object connection) {
        if (connection instanceof AmqpConnection amqp) {
            amqp.onAlarmCleared();
        }
    }

    @Override
    protected void initChannel(Channel channel) {
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
