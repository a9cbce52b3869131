import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.ShutdownSignalException;
import java.io.IOException;
import java.util.Map;

/**
 * Housekeeping for bench/compare.sh over plain AMQP, so that it works the same against Courier
 * and RabbitMQ (no rabbitmqctl, no management API).
 *
 * <pre>
 *   BenchAdmin URI delete QUEUE... [--exchange NAME]   deletes the queues (and exchange) of one run
 *                                                       and prints the messages they still held
 *   BenchAdmin URI probe-quorum                        exit 0 when x-queue-type=quorum is accepted,
 *                                                       3 when the broker refuses it
 * </pre>
 *
 * Run by compare.sh from a single thread; each command opens one connection and closes it.
 */
public final class BenchAdmin {

    private BenchAdmin() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: BenchAdmin URI delete QUEUE... [--exchange NAME] | BenchAdmin URI probe-quorum"
                    + " | BenchAdmin URI await-depth QUEUE N");
            System.exit(2);
        }
        ConnectionFactory factory = new ConnectionFactory();
        factory.setUri(args[0]);
        factory.setAutomaticRecoveryEnabled(false);
        factory.setConnectionTimeout(10_000);
        try (Connection connection = factory.newConnection("courier-bench-admin")) {
            switch (args[1]) {
                case "delete" -> System.exit(delete(connection, args));
                case "probe-quorum" -> System.exit(probeQuorum(connection));
                case "await-depth" -> System.exit(awaitDepth(connection, args[2], Long.parseLong(args[3])));
                default -> {
                    System.err.println("unknown command " + args[1]);
                    System.exit(2);
                }
            }
        }
    }

    /** Prints "leftover N" (messages still queued across the named queues) and deletes them. */
    private static int delete(Connection connection, String[] args) throws Exception {
        long leftover = 0;
        for (int i = 2; i < args.length; i++) {
            if (args[i].equals("--exchange")) {
                String exchange = args[++i];
                try (Channel channel = connection.createChannel()) {
                    channel.exchangeDelete(exchange);
                }
                continue;
            }
            // a passive declare on a queue that is already gone closes the channel with 404: use a
            // fresh channel per queue so that one missing queue does not hide the others
            Channel channel = connection.createChannel();
            try {
                leftover += channel.queueDeclarePassive(args[i]).getMessageCount();
                channel.queueDelete(args[i]);
                channel.close();
            } catch (IOException e) {
                if (replyCode(e) != 404) {
                    throw e;
                }
            }
        }
        System.out.println("leftover " + leftover);
        return 0;
    }

    /** Waits (up to 10 minutes) until QUEUE holds at least N messages; prints "depth D". */
    private static int awaitDepth(Connection connection, String queue, long expected) throws Exception {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.MINUTES.toNanos(10);
        try (Channel channel = connection.createChannel()) {
            long depth;
            while ((depth = channel.queueDeclarePassive(queue).getMessageCount()) < expected
                    && System.nanoTime() < deadline) {
                Thread.sleep(200); // a load script polling a broker, not a test
            }
            System.out.println("depth " + depth);
            return depth >= expected ? 0 : 1;
        }
    }

    private static int probeQuorum(Connection connection) throws Exception {
        String name = "courier-bench-quorum-probe-" + ProcessHandle.current().pid();
        Channel channel = connection.createChannel();
        try {
            channel.queueDeclare(name, true, false, false, Map.of("x-queue-type", "quorum"));
            channel.queueDelete(name);
            channel.close();
            System.out.println("quorum queues: supported");
            return 0;
        } catch (IOException e) {
            System.out.println("quorum queues: refused, " + replyCode(e) + " " + replyText(e));
            return 3;
        }
    }

    private static String replyText(IOException e) {
        if (e.getCause() instanceof ShutdownSignalException signal
                && signal.getReason() instanceof com.rabbitmq.client.AMQP.Channel.Close close) {
            return close.getReplyText();
        }
        return String.valueOf(e.getCause());
    }

    private static int replyCode(IOException e) {
        if (e.getCause() instanceof ShutdownSignalException signal
                && signal.getReason() instanceof com.rabbitmq.client.AMQP.Channel.Close close) {
            return close.getReplyCode();
        }
        return -1;
    }
}
