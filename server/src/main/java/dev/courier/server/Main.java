package dev.courier.server;

import dev.courier.server.ctl.Ctl;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The {@code courier} command line: {@code courier server [options]} and {@code courier ctl ...}. */
@Command(
        name = "courier",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = "Courier, an AMQP 0-9-1 message broker.",
        subcommands = {Main.Server.class, Ctl.class})
public final class Main implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(Main.class);

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        int code = new CommandLine(new Main()).execute(args);
        System.exit(code);
    }

    @Override
    public Integer call() {
        spec.commandLine().usage(System.out);
        return 0;
    }

    /** Runs the broker in the foreground until SIGTERM or SIGINT. */
    @Command(name = "server", mixinStandardHelpOptions = true, description = "Run the broker in the foreground.")
    static final class Server implements Callable<Integer> {
        @Option(names = "--amqp-port", description = "AMQP port (default 5672; 0 = any free port)")
        Integer amqpPort;

        @Option(names = "--http-port", description = "management HTTP port (default 15672; 0 = any free port)")
        Integer httpPort;

        @Option(names = "--bind", description = "address to listen on (default 127.0.0.1)")
        String bind;

        @Option(names = "--data-dir", description = "data directory (default ./data)")
        Path dataDir;

        @Option(names = "--node-id", description = "this node's id in a cluster (see --cluster)")
        String nodeId;

        @Option(names = "--cluster", description = "every cluster node as id=host:raftport,... (this one included)")
        String cluster;

        @Option(names = "--config", description = "config file of key=value lines")
        Path configFile;

        @Option(names = "--set", description = "set a config key: --set key=value (repeatable)")
        List<String> settings = new ArrayList<>();

        @Override
        public Integer call() throws Exception {
            ServerConfig config;
            try {
                config = buildConfig();
            } catch (IllegalArgumentException | java.io.IOException e) {
                System.err.println("courier: " + e.getMessage());
                return 2;
            }
            LogLevels.apply(config.logLevel());
            CourierServer server;
            try {
                server = CourierServer.start(config);
            } catch (java.io.IOException e) {
                System.err.println("courier: cannot start: " + e.getMessage());
                return 1;
            } catch (IllegalArgumentException e) {
                System.err.println("courier: " + e.getMessage());
                return 2;
            }
            CountDownLatch stopRequested = new CountDownLatch(1);
            Signals.onTerminate(stopRequested::countDown);
            String ready = "Courier ready: amqp=" + config.bindAddress() + ":" + server.amqpPort()
                    + (server.amqpsPort() > 0 ? " amqps=" + config.bindAddress() + ":" + server.amqpsPort() : "")
                    + (server.httpPort() > 0
                            ? (config.tls().management() ? " https=" : " http=") + config.bindAddress() + ":"
                                    + server.httpPort()
                            : "")
                    + " data=" + config.dataDir().toAbsolutePath();
            LOG.debug("listeners bound: {}", config);
            System.out.println(ready);
            System.out.flush();
            stopRequested.await();
            server.close();
            return 0;
        }

        private ServerConfig buildConfig() throws java.io.IOException {
            ServerConfig config = ServerConfig.defaults();
            if (configFile != null) {
                config = config.withFile(configFile);
            }
            for (String setting : settings) {
                int eq = setting.indexOf('=');
                if (eq <= 0) {
                    throw new IllegalArgumentException("--set needs key=value, got '" + setting + "'");
                }
                config = config.with(setting.substring(0, eq), setting.substring(eq + 1));
            }
            if (amqpPort != null) {
                config = config.withAmqpPort(amqpPort);
            }
            if (httpPort != null) {
                config = config.withHttpPort(httpPort);
            }
            if (bind != null) {
                config = config.withBindAddress(bind);
            }
            if (dataDir != null) {
                config = config.withDataDir(dataDir);
            }
            if (nodeId != null) {
                config = config.with("cluster.node_id", nodeId);
            }
            if (cluster != null) {
                config = config.with("cluster.nodes", cluster);
            }
            return config;
        }
    }

    /** Prints the version from the jar manifest. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String version = Main.class.getPackage().getImplementationVersion();
            return new String[] {"courier " + (version == null ? "0.1.0-SNAPSHOT" : version)};
        }
    }
}
