package dev.courier.wire;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.concurrent.ThreadLocalRandom;

/** Ports for Raft servers started by tests. */
public final class FreePorts {
    private FreePorts() {}

    /**
     * A free port below Linux's ephemeral range (32768-60999): a port picked inside it may be taken
     * by another node's outgoing connection before its server binds it, and a Ratis server that
     * cannot bind exits its JVM.
     */
    public static int belowEphemeralRange() {
        for (int attempt = 0; attempt < 1_000; attempt++) {
            int port = ThreadLocalRandom.current().nextInt(20_000, 32_000);
            try (ServerSocket socket = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
                return socket.getLocalPort();
            } catch (IOException taken) {
                // try another
            }
        }
        throw new IllegalStateException("no free port between 20000 and 32000");
    }
}
