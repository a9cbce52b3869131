package dev.courier.wire;

import dev.courier.protocol.Amqp;
import dev.courier.protocol.Frame;
import dev.courier.protocol.FrameReader;
import dev.courier.protocol.FrameWriter;
import dev.courier.protocol.HeartbeatFrame;
import dev.courier.protocol.Method;
import dev.courier.protocol.MethodFrame;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/** A hand-driven AMQP client on a plain socket, for sending input no real client would send. */
final class RawAmqpClient implements AutoCloseable {
    private final Socket socket;
    private final InputStream in;
    private final ByteBuf received = Unpooled.buffer();

    RawAmqpClient(String host, int port) throws IOException {
        socket = new Socket(host, port);
        socket.setSoTimeout(10_000);
        in = socket.getInputStream();
    }

    void send(byte[] bytes) throws IOException {
        socket.getOutputStream().write(bytes);
        socket.getOutputStream().flush();
    }

    void send(ByteBuf buffer) throws IOException {
        byte[] bytes = new byte[buffer.readableBytes()];
        buffer.readBytes(bytes);
        buffer.release();
        send(bytes);
    }

    void sendMethod(int channel, Method method) throws IOException {
        ByteBuf out = Unpooled.buffer();
        FrameWriter.writeMethod(out, channel, method);
        send(out);
    }

    /** Reads raw bytes until the peer closes; returns what arrived. */
    byte[] readUntilClosed() throws IOException {
        java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream();
        all.write(received.array(), received.arrayOffset() + received.readerIndex(), received.readableBytes());
        byte[] chunk = new byte[4096];
        try {
            int n;
            while ((n = in.read(chunk)) >= 0) {
                all.write(chunk, 0, n);
            }
        } catch (java.net.SocketException reset) {
            // closed with unread input pending: a reset after the header is still a close
        }
        return all.toByteArray();
    }

    /** The next non-heartbeat method from the server. */
    Method readMethod() throws IOException {
        while (true) {
            Frame frame = FrameReader.read(received, 0);
            if (frame == null) {
                byte[] chunk = new byte[4096];
                int n = in.read(chunk);
                if (n < 0) {
                    throw new IOException("connection closed by the server");
                }
                received.writeBytes(chunk, 0, n);
                continue;
            }
            if (frame instanceof HeartbeatFrame) {
                continue;
            }
            if (frame instanceof MethodFrame mf) {
                return mf.method();
            }
            dev.courier.server.amqp.FramesForTests.release(frame);
        }
    }

    /** Header, start-ok (PLAIN guest/guest), tune-ok, open: up to open-ok. */
    void handshake() throws IOException {
        handshake(0);
    }

    /** The handshake, asking for heartbeats every {@code heartbeatSeconds} (0 = none). */
    void handshake(int heartbeatSeconds) throws IOException {
        send(new byte[] {'A', 'M', 'Q', 'P', 0, 0, 9, 1});
        expect(Amqp.Connection.Start.class);
        sendMethod(
                0,
                new Amqp.Connection.StartOk(
                        Map.of("product", "raw-test"),
                        "PLAIN",
                        "\0guest\0guest".getBytes(StandardCharsets.UTF_8),
                        "en_US"));
        Amqp.Connection.Tune tune = expect(Amqp.Connection.Tune.class);
        sendMethod(0, new Amqp.Connection.TuneOk(tune.channelMax(), tune.frameMax(), heartbeatSeconds));
        sendMethod(0, new Amqp.Connection.Open("/", "", false));
        expect(Amqp.Connection.OpenOk.class);
    }

    <T extends Method> T expect(Class<T> type) throws IOException {
        Method method = readMethod();
        if (!type.isInstance(method)) {
            throw new AssertionError("expected " + type.getSimpleName() + " but got " + method);
        }
        return type.cast(method);
    }

    /** True when the server has closed the socket (reads end of stream). */
    boolean closedByPeer() throws IOException {
        try {
            while (true) {
                int b = in.read();
                if (b < 0) {
                    return true;
                }
            }
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true; // reset
        }
    }

    @Override
    public void close() throws IOException {
        received.release();
        socket.close();
    }
}
