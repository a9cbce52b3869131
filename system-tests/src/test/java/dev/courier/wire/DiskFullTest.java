package dev.courier.wire;

import static dev.courier.wire.Wire.bytes;
import static org.assertj.core.api.Assertions.assertThat;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.GetResponse;
import com.rabbitmq.client.MessageProperties;
import dev.courier.server.CourierServer;
import dev.courier.server.ServerConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SortedSet;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A data disk that really fills up (a small tmpfs, mounted when the test runs as root): publishers
 * get nacks for what could not be written, never a confirm; the broker stays up for transient
 * traffic; after space is freed and the broker restarts, every confirmed message is there.
 */
class DiskFullTest {
    static {
        LeakTracker.install();
    }

    @TempDir
    Path mountPoint;

    private boolean mounted;

    @BeforeEach
    void mountSmallDisk() throws Exception {
        Process mount = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", mountPoint.toString())
                .redirectErrorStream(true)
                .start();
        boolean done = mount.waitFor(30, TimeUnit.SECONDS) && mount.exitValue() == 0;
        org.junit.jupiter.api.Assumptions.assumeTrue(done, "needs root to mount a small tmpfs");
        mounted = true;
    }

    @AfterEach
    void unmount() throws Exception {
        if (mounted) {
            new ProcessBuilder("umount", "-l", mountPoint.toString()).start().waitFor(30, TimeUnit.SECONDS);
        }
    }

    private CourierServer start(Path dataDir) throws Exception {
        return CourierServer.start(ServerConfig.defaults()
                .with("disk_free_limit", "0") // let the disk really fill: the alarm is tested elsewhere
                .with("store.segment_size", "1048576")
                .withAmqpPort(0)
                .withHttpPort(-1)
                .withDataDir(dataDir));
    }

    private static Connection connect(CourierServer server) throws Exception {
        ConnectionFactory factory = new ConnectionFactory();
        factory.setPort(server.amqpPort());
        factory.setAutomaticRecoveryEnabled(false);
        return factory.newConnection();
    }

    @Test
    void shouldNackWhatItCannotWriteAndKeepEverythingItConfirmed() throws Exception {
        Path dataDir = mountPoint.resolve("data");
        Path filler = mountPoint.resolve("filler");
        Files.write(filler, new byte[8 * 1024 * 1024]); // freed later to make room for the restart
        SortedSet<Integer> confirmed = new ConcurrentSkipListSet<>();
        int nacked = 0;
        try (CourierServer server = start(dataDir);
                Connection connection = connect(server)) {
            Channel channel = connection.createChannel();
            channel.queueDeclare("full", true, false, false, null);
            channel.confirmSelect();
            byte[] body = new byte[16 * 1024];
            for (int batch = 0; batch < 200 && nacked == 0; batch++) {
                List<Integer> ids = new ArrayList<>();
                for (int i = 0; i < 20; i++) {
                    int id = batch * 20 + i;
                    ids.add(id);
                    body[0] = (byte) id;
                    body[1] = (byte) (id >>> 8);
                    channel.basicPublish("", "full", MessageProperties.PERSISTENT_BASIC, body);
                }
                if (channel.waitForConfirms(30_000)) {
                    confirmed.addAll(ids);
                } else {
                    nacked++;
                }
            }
            assertThat(nacked)
                    .as("the disk filled up and publishes were nacked")
                    .isPositive();
            assertThat(confirmed).as("some were confirmed before").isNotEmpty();

            // the broker is still up: transient work goes on
            Channel other = connection.isOpen()
                    ? connection.createChannel()
                    : connect(server).createChannel();
            String temp = other.queueDeclare().getQueue();
            other.basicPublish("", temp, null, bytes("still alive"));
            assertThat(Wire.getEventually(other, temp).getBody()).isEqualTo(bytes("still alive"));
        }

        Files.delete(filler);
        try (CourierServer server = start(dataDir);
                Connection connection = connect(server)) {
            Channel channel = connection.createChannel();
            List<Integer> found = new ArrayList<>();
            GetResponse response;
            while ((response = channel.basicGet("full", true)) != null) {
                byte[] b = response.getBody();
                found.add((b[0] & 0xff) | ((b[1] & 0xff) << 8));
            }
            assertThat(found).as("every confirmed message survives").containsAll(confirmed);
            assertThat(found).doesNotHaveDuplicates();
        } catch (IOException e) {
            throw new AssertionError("the broker must restart on the freed disk", e);
        }
    }
}
