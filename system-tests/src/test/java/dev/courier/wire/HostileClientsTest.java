package dev.courier.wire;

import static dev.courier.wire.Wire.bytes;
import static dev.courier.wire.Wire.text;
import static org.assertj.core.api.Assertions.assertThat;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Bad and abusive clients on the AMQP port: random bytes after a valid protocol header, and
 * thousands of connections opening and closing. The broker stays up, its thread count and its
 * direct and heap memory come back near where they were, no buffer leaks (the extension's leak
 * detector is paranoid), and a well-behaved client keeps working throughout.
 */
class HostileClientsTest {
    @RegisterExtension
    static final CourierBroker broker = new CourierBroker();

    private static final byte[] HEADER = {'A', 'M', 'Q', 'P', 0, 0, 9, 1};

    private static int threads() {
        return ManagementFactory.getThreadMXBean().getThreadCount();
    }

    /** Publishes and gets one message on a connection opened before the abuse. */
    private static void assertStillWorks(Channel channel, String queue, String body) throws IOException {
        channel.basicPublish("", queue, null, bytes(body));
        assertThat(text(Wire.getEventually(channel, queue).getBody())).isEqualTo(body);
    }

    @Test
    void shouldSurviveRandomBytesAfterAValidProtocolHeader() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(broker.isCourier(), "the thread count is Courier's");
        Connection good = broker.connect();
        Channel channel = good.createChannel();
        String queue = channel.queueDeclare().getQueue();
        int threadsBefore = threads();
        long directBefore = MemoryProbe.directBytes();
        long heapBefore = MemoryProbe.heapBytesAfterGc();
        Random random = new Random(42);
        for (int i = 0; i < 300; i++) {
            try (Socket socket = new Socket(broker.host(), broker.port())) {
                socket.setSoTimeout(5_000);
                OutputStream out = socket.getOutputStream();
                InputStream in = socket.getInputStream();
                byte[] junk = new byte[1 + random.nextInt(i % 10 == 0 ? 200_000 : 2_000)];
                random.nextBytes(junk);
                if (i % 3 == 0 && junk.length > 7) {
                    junk[0] = 1; // a method frame on channel 0 with a random size: the decoder's frame checks
                    junk[1] = 0;
                    junk[2] = 0;
                }
                try {
                    out.write(HEADER);
                    out.write(junk);
                    out.flush();
                    in.readAllBytes(); // connection.start, maybe a close, then the broker closes the socket
                } catch (IOException e) {
                    // the broker closed while we were still writing: fine
                }
            }
            if (i % 100 == 0) {
                assertStillWorks(channel, queue, "during " + i);
            }
        }
        assertStillWorks(channel, queue, "after");
        Wire.await().until(() -> threads() <= threadsBefore + 8);
        assertMemoryBackNear(directBefore, heapBefore);
    }

    /**
     * Nothing the hostile clients sent is still held: direct and heap memory are back within a
     * generous margin of where they were (pools keep some, and the test JVM does other things).
     */
    private static void assertMemoryBackNear(long directBefore, long heapBefore) {
        Wire.await()
                .pollInterval(java.time.Duration.ofMillis(250)) // each look collects garbage
                .untilAsserted(() -> assertThat(MemoryProbe.directBytes())
                        .as("direct memory, started at %d MiB", directBefore / MemoryProbe.MIB)
                        .isLessThan(directBefore + 32 * MemoryProbe.MIB));
        Wire.await()
                .pollInterval(java.time.Duration.ofMillis(250)) // each look collects garbage
                .untilAsserted(() -> assertThat(MemoryProbe.heapBytesAfterGc())
                        .as("heap, started at %d MiB", heapBefore / MemoryProbe.MIB)
                        .isLessThan(heapBefore + 64 * MemoryProbe.MIB));
    }

    @Test
    void shouldStayUpThroughThousandsOfConnectionsOpeningAndClosing() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(broker.isCourier(), "the connection set is Courier's");
        Connection good = broker.connect();
        Channel channel = good.createChannel();
        String queue = channel.queueDeclare().getQueue();
        int threadsBefore = threads();
        long directBefore = MemoryProbe.directBytes();
        long heapBefore = MemoryProbe.heapBytesAfterGc();
        for (int i = 0; i < 2_000; i++) {
            // half are sockets that never speak, half say the header and leave
            try (Socket socket = new Socket(broker.host(), broker.port())) {
                if (i % 2 == 0) {
                    socket.getOutputStream().write(HEADER);
                }
            }
        }
        for (int i = 0; i < 200; i++) {
            try (Connection connection = broker.factory().newConnection()) {
                connection.createChannel().exchangeDeclarePassive("amq.direct");
            }
        }
        assertStillWorks(channel, queue, "after the storm");
        Wire.await().until(() -> broker.server().broker().vhost("/") != null && connectionsOpen() == 1);
        Wire.await().until(() -> threads() <= threadsBefore + 8);
        assertMemoryBackNear(directBefore, heapBefore);
    }

    private static int connectionsOpen() throws Exception {
        java.net.http.HttpResponse<String> overview = java.net.http.HttpClient.newHttpClient()
                .send(
                        java.net.http.HttpRequest.newBuilder(java.net.URI.create(
                                        "http://127.0.0.1:" + broker.server().httpPort() + "/api/overview"))
                                .header(
                                        "Authorization",
                                        "Basic "
                                                + java.util.Base64.getEncoder()
                                                        .encodeToString("guest:guest".getBytes(StandardCharsets.UTF_8)))
                                .build(),
                        java.net.http.HttpResponse.BodyHandlers.ofString());
        return new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(overview.body())
                .get("object_totals")
                .get("connections")
                .asInt();
    }
}
