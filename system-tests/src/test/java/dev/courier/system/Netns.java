package dev.courier.system;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A private network for multi-process tests: one network namespace per node, each with an address
 * on a bridge in this namespace (10.231.X.N/24, where the test process is .254), so that a node
 * can be cut off from every other node and from the test, and joined again, with {@code ip link}.
 * Needs root (CAP_NET_ADMIN) and iproute2; {@link #available()} says whether this machine has
 * them. Names carry this JVM's pid, so concurrent runs do not collide.
 */
final class Netns implements AutoCloseable {
    private final String tag;
    private final int subnet;
    private final int nodes;
    private final List<String> created = new ArrayList<>();
    private boolean bridgeCreated;

    private Netns(int nodes) {
        long pid = ProcessHandle.current().pid();
        this.tag = Long.toString(pid % 100_000);
        this.subnet = (int) (pid % 250) + 1;
        this.nodes = nodes;
    }

    /** Whether namespaces can be created here (root with iproute2): probes with a throw-away one. */
    static boolean available() {
        String probe = "courier-probe-" + ProcessHandle.current().pid();
        try {
            if (run("ip", "netns", "add", probe) != 0) {
                return false;
            }
            return run("ip", "netns", "del", probe) == 0;
        } catch (IOException e) {
            return false;
        }
    }

    /** Creates the bridge and one namespace per node, each with its address up and loopback up. */
    static Netns create(int nodes) throws IOException {
        Netns net = new Netns(nodes);
        try {
            net.setUp();
            return net;
        } catch (IOException | RuntimeException e) {
            net.close();
            throw e;
        }
    }

    private void setUp() throws IOException {
        String bridge = bridge();
        check("ip", "link", "add", bridge, "type", "bridge");
        bridgeCreated = true;
        check("ip", "addr", "add", "10.231." + subnet + ".254/24", "dev", bridge);
        check("ip", "link", "set", bridge, "up");
        for (int i = 0; i < nodes; i++) {
            String ns = namespace(i);
            check("ip", "netns", "add", ns);
            created.add(ns);
            check("ip", "link", "add", hostEnd(i), "type", "veth", "peer", "name", nodeEnd(i));
            check("ip", "link", "set", nodeEnd(i), "netns", ns);
            check("ip", "netns", "exec", ns, "ip", "addr", "add", address(i) + "/24", "dev", nodeEnd(i));
            check("ip", "netns", "exec", ns, "ip", "link", "set", nodeEnd(i), "up");
            check("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up");
            check("ip", "link", "set", hostEnd(i), "master", bridge);
            check("ip", "link", "set", hostEnd(i), "up");
        }
    }

    /** Node {@code i}'s address, reachable from this process and the other nodes. */
    String address(int i) {
        return "10.231." + subnet + "." + (i + 1);
    }

    /** What to put before a command so that it runs in node {@code i}'s namespace. */
    List<String> prefix(int i) {
        return List.of("ip", "netns", "exec", namespace(i));
    }

    /** Cuts node {@code i} off: its link goes down, packets to and from it are lost. */
    void cut(int i) throws IOException {
        check("ip", "link", "set", hostEnd(i), "down");
    }

    /** Joins node {@code i} again. */
    void heal(int i) throws IOException {
        check("ip", "link", "set", hostEnd(i), "up");
    }

    /** Deletes the namespaces (their veth pairs go with them) and the bridge. */
    @Override
    public void close() {
        for (String ns : created) {
            try {
                run("ip", "netns", "del", ns);
            } catch (IOException e) {
                // best effort: a leftover namespace is visible in `ip netns list`
            }
        }
        created.clear();
        if (bridgeCreated) {
            try {
                run("ip", "link", "del", bridge());
            } catch (IOException e) {
                // best effort, as above
            }
            bridgeCreated = false;
        }
    }

    private String bridge() {
        return "cbr" + tag;
    }

    private String namespace(int i) {
        return "courier-" + tag + "-" + (i + 1);
    }

    private String hostEnd(int i) { // interface names are at most 15 characters
        return "cv" + tag + "h" + (i + 1);
    }

    private String nodeEnd(int i) {
        return "cv" + tag + "n" + (i + 1);
    }

    private static void check(String... command) throws IOException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int code = waitFor(process);
        if (code != 0) {
            throw new IOException(String.join(" ", command) + " exited with " + code + ": " + output.strip());
        }
    }

    private static int run(String... command) throws IOException {
        Process process = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
        return waitFor(process);
    }

    private static int waitFor(Process process) throws IOException {
        try {
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IOException(
                        "timed out: " + process.info().commandLine().orElse("ip"));
            }
            return process.exitValue();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }
}
