package dev.courier.system;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A broker started with the repository's {@code ./courier server} launcher in its own process,
 * on free ports, for tests that need a real process: the launcher itself, kill -9, restart.
 */
final class BrokerProcess implements AutoCloseable {
    private static final Pattern AMQP_PORT = Pattern.compile("amqp=[^ ]*:(\\d+)");
    private static final Pattern HTTP_PORT = Pattern.compile("http=[^ ]*:(\\d+)");
    private static final long READY_TIMEOUT_SECONDS = 120;
    private static final String DEFAULT_JAVA_OPTS = "-Xmx512m";

    private final Process process;
    private final String readyLine;
    private final Path stderrFile;

    private BrokerProcess(Process process, String readyLine, Path stderrFile) {
        this.process = process;
        this.readyLine = readyLine;
        this.stderrFile = stderrFile;
    }

    /** Starts {@code ./courier server} on free ports and waits for its ready line. */
    static BrokerProcess start(Path dataDir, String... extraArgs) throws IOException, InterruptedException {
        return start(List.of(), dataDir, extraArgs);
    }

    /**
     * As {@link #start(Path, String...)}, with {@code prefix} before the launcher (e.g. {@code ip
     * netns exec NS}, which execs it: the process is still the broker's).
     */
    static BrokerProcess start(List<String> prefix, Path dataDir, String... extraArgs)
            throws IOException, InterruptedException {
        return start(prefix, DEFAULT_JAVA_OPTS, dataDir, extraArgs);
    }

    /** As {@link #start(Path, String...)}, with these JVM options instead of {@value #DEFAULT_JAVA_OPTS}. */
    static BrokerProcess startWithJavaOpts(String javaOpts, Path dataDir, String... extraArgs)
            throws IOException, InterruptedException {
        return start(List.of(), javaOpts, dataDir, extraArgs);
    }

    private static BrokerProcess start(List<String> prefix, String javaOpts, Path dataDir, String... extraArgs)
            throws IOException, InterruptedException {
        Path stderr = Files.createTempFile("courier-server", ".err");
        Process process = builder(prefix, javaOpts, dataDir, extraArgs)
                .redirectError(stderr.toFile())
                .start();
        BufferedReader stdout =
                new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        CompletableFuture<String> ready = CompletableFuture.supplyAsync(() -> {
            try {
                String line;
                while ((line = stdout.readLine()) != null) {
                    if (line.contains("ready")) {
                        return line;
                    }
                }
                return null;
            } catch (IOException e) {
                return null;
            }
        });
        String line;
        try {
            line = ready.get(READY_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (Exception e) {
            line = null;
        }
        if (line == null) {
            process.destroyForcibly().waitFor();
            throw new IllegalStateException(
                    "broker did not print its ready line; stderr:\n" + Files.readString(stderr));
        }
        return new BrokerProcess(process, line, stderr);
    }

    /** Runs the launcher to completion (for commands that are expected to exit). */
    static Result run(Path dataDir, String... extraArgs) throws IOException, InterruptedException {
        Path stderr = Files.createTempFile("courier-server", ".err");
        Process process = builder(List.of(), DEFAULT_JAVA_OPTS, dataDir, extraArgs)
                .redirectError(stderr.toFile())
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
        if (!process.waitFor(READY_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor();
            throw new IllegalStateException("launcher did not exit");
        }
        return new Result(process.exitValue(), Files.readString(stderr));
    }

    record Result(int exitCode, String stderr) {}

    private static ProcessBuilder builder(List<String> prefix, String javaOpts, Path dataDir, String... extraArgs) {
        Path root = repositoryRoot();
        List<String> command = new ArrayList<>(prefix);
        command.addAll(List.of(
                root.resolve("courier").toString(),
                "server",
                "--amqp-port",
                "0",
                "--http-port",
                "0",
                "--data-dir",
                dataDir.toString()));
        command.addAll(List.of(extraArgs));
        ProcessBuilder builder = new ProcessBuilder(command).directory(root.toFile());
        builder.environment().put("COURIER_JAVA_OPTS", javaOpts);
        return builder;
    }

    private static Path repositoryRoot() {
        Path dir = Path.of("").toAbsolutePath();
        while (dir != null && !Files.isExecutable(dir.resolve("courier"))) {
            dir = dir.getParent();
        }
        if (dir == null) {
            throw new IllegalStateException(
                    "cannot find the ./courier launcher above " + Path.of("").toAbsolutePath());
        }
        return dir;
    }

    String readyLine() {
        return readyLine;
    }

    int amqpPort() {
        Matcher matcher = AMQP_PORT.matcher(readyLine);
        if (!matcher.find()) {
            throw new IllegalStateException("no amqp port in ready line: " + readyLine);
        }
        return Integer.parseInt(matcher.group(1));
    }

    int httpPort() {
        Matcher matcher = HTTP_PORT.matcher(readyLine);
        if (!matcher.find()) {
            throw new IllegalStateException("no http port in ready line: " + readyLine);
        }
        return Integer.parseInt(matcher.group(1));
    }

    boolean alive() {
        return process.isAlive();
    }

    long pid() {
        return process.pid();
    }

    /** Sends SIGTERM and returns the exit code. */
    int terminate(long timeout, TimeUnit unit) throws InterruptedException {
        process.destroy();
        if (!process.waitFor(timeout, unit)) {
            process.destroyForcibly().waitFor();
            throw new IllegalStateException("broker did not stop within " + timeout + " " + unit + " of SIGTERM");
        }
        return process.exitValue();
    }

    /** SIGSTOP: the process freezes with its sockets open, as a stalled or swapped-out node does. */
    void pause() throws IOException, InterruptedException {
        signal("-STOP");
    }

    /** SIGCONT. */
    void resume() throws IOException, InterruptedException {
        signal("-CONT");
    }

    private void signal(String signal) throws IOException, InterruptedException {
        int code = new ProcessBuilder("kill", signal, Long.toString(process.pid()))
                .inheritIO()
                .start()
                .waitFor();
        if (code != 0) {
            throw new IllegalStateException("kill " + signal + " " + process.pid() + " exited with " + code);
        }
    }

    /** kill -9. */
    void kill() throws InterruptedException {
        process.destroyForcibly().waitFor();
    }

    String stderr() throws IOException {
        return Files.readString(stderrFile);
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            process.destroyForcibly();
            process.onExit().join();
        }
    }
}
