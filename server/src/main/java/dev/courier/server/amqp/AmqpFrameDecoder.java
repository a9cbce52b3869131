package dev.courier.server.amqp;

import dev.courier.protocol.AmqpConstants;
import dev.courier.protocol.FrameReader;
import dev.courier.protocol.ProtocolException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;

/**
 * Turns the inbound byte stream into {@link dev.courier.protocol.Frame}s.
 *
 * <p>The first 8 bytes must be the AMQP 0-9-1 protocol header; anything else is answered with
 * the header we support and the socket is closed (0-9-1 §4.2.2). After that every frame is
 * decoded by {@link FrameReader}. A malformed frame is passed on as a {@link FrameError} so that
 * {@link AmqpConnection} can close the connection with the right reply code; nothing after it is
 * read.
 *
 * <p>Runs on the connection's event loop only.
 */
final class AmqpFrameDecoder extends ByteToMessageDecoder {
    /** A frame that could not be decoded; the connection must be closed with this error. */
    record FrameError(ProtocolException cause) {}

    private boolean headerSeen;
    private boolean failed;
    private volatile long maxFrameSizeBytes;

    AmqpFrameDecoder(long maxFrameSizeBytes) {
        this.maxFrameSizeBytes = maxFrameSizeBytes;
    }

    /** Sets the negotiated frame-max (0 = no limit); called from the event loop after tune-ok. */
    void maxFrameSizeBytes(long value) {
        this.maxFrameSizeBytes = value == 0 ? Integer.MAX_VALUE : value;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (failed) {
            in.skipBytes(in.readableBytes());
            return;
        }
        if (!headerSeen) {
            switch (FrameReader.checkProtocolHeader(in)) {
                case NEED_MORE -> {
                    return;
                }
                case MISMATCH -> {
                    failed = true;
                    in.skipBytes(in.readableBytes());
                    ctx.writeAndFlush(Unpooled.wrappedBuffer(AmqpConstants.PROTOCOL_HEADER))
                            .addListener(ChannelFutureListener.CLOSE);
                    return;
                }
                case OK -> {
                    headerSeen = true;
                    out.add(ProtocolHeaderReceived.INSTANCE);
                }
            }
        }
        while (in.isReadable()) {
            try {
                Object frame = FrameReader.read(in, maxFrameSizeBytes);
                if (frame == null) {
                    return;
                }
                out.add(frame);
            } catch (ProtocolException e) {
                failed = true;
                in.skipBytes(in.readableBytes());
                out.add(new FrameError(e));
                return;
            }
        }
    }

    /** Marker passed on once the client's protocol header has been accepted. */
    enum ProtocolHeaderReceived {
        INSTANCE
    }
}
