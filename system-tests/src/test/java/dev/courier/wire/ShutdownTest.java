package dev.courier.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ShutdownSignalException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A broker that stops tells its clients, as RabbitMQ does, instead of leaving them to find out
 * from a missed heartbeat.
 */
class ShutdownTest {
    static {
        LeakTracker.install();
    }

    @TempDir
    Path dataDir;

    @Test
    void shouldCloseEveryClientConnectionWithConnectionForcedWhenTheBrokerStops() throws Exception {
        try (RestartableServer broker = new RestartableServer(dataDir)) {
            broker.start();
            AtomicReference<ShutdownSignalException> seen = new AtomicReference<>();
            Connection[] clients = new Connection[5];
            for (int i = 0; i < clients.length; i++) {
                clients[i] = broker.connect();
                Channel channel = clients[i].createChannel();
                channel.basicConsume(channel.queueDeclare().getQueue(), true, (tag, delivery) -> {}, tag -> {});
            }
            clients[0].addShutdownListener(seen::set);

            broker.server().close();

            // the client's heartbeat is 60 s: only the broker's connection.close ends these in time
            await().atMost(Duration.ofSeconds(15)).until(() -> {
                for (Connection client : clients) {
                    if (client.isOpen()) {
                        return false;
                    }
                }
                return true;
            });
            assertThat(seen.get().isHardError()).isTrue();
            assertThat(Wire.replyCode(seen.get())).isEqualTo(320);
            assertThat(Wire.replyText(seen.get()))
                    .isEqualTo("CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'");
        }
    }

    @Test
    void shouldDropASocketThatNeverFinishedItsHandshakeWhenTheBrokerStops() throws Exception {
        try (RestartableServer broker = new RestartableServer(dataDir)) {
            broker.start();
            try (Socket socket = new Socket("127.0.0.1", broker.server().amqpPort())) {
                socket.getOutputStream().write("AMQP".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                socket.getOutputStream().flush(); // half a protocol header: the broker waits for the rest
                socket.setSoTimeout(15_000);

                broker.server().close();

                // closed, not left open: an orderly end of stream, or a reset when the close
                // came while the four bytes were still unread (then TCP answers RST, not FIN)
                InputStream in = socket.getInputStream();
                int read;
                try {
                    read = in.read();
                } catch (SocketException reset) {
                    assertThat(reset).hasMessageContaining("Connection reset");
                    return;
                }
                assertThat(read).isEqualTo(-1);
            }
        }
    }
}
