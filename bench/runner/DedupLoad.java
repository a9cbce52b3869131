import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.DefaultConsumer;
import com.rabbitmq.client.Envelope;
import java.util.HashMap;
import java.util.Map;
import java.util.NavigableSet;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Deduplication overhead end to end (issue 5): PerfTest's durable scenario (1 producer, 1
 * consumer, 1 KB persistent messages on a durable queue, confirms with 100 outstanding, manual
 * ack of each message, prefetch 100), but every message carries a unique message_id, which
 * PerfTest cannot set. Runs a plain queue (A) and an x-message-deduplication queue (B) in turn,
 * A B A B, each on a fresh queue, and prints received msg/s per run and the medians.
 *
 * <p>usage: java -cp PERFTEST_CLASSPATH bench/runner/DedupLoad.java URI SECONDS ROUNDS
 */
public class DedupLoad {
    public static void main(String[] args) throws Exception {
        String uri = args[0];
        int seconds = Integer.parseInt(args[1]);
        int rounds = Integer.parseInt(args[2]);
        double[][] rates = new double[2][rounds];
        for (int round = 0; round < rounds; round++) {
            for (int variant = 0; variant < 2; variant++) {
                boolean dedup = variant == 1;
                rates[variant][round] = run(uri, seconds, dedup, "dedup-load-" + round + "-" + variant);
                System.out.printf(
                        "round %d %-6s %,10.0f msg/s received%n", round + 1, dedup ? "dedup" : "plain", rates[variant][round]);
            }
        }
        double plain = median(rates[0]);
        double dedup = median(rates[1]);
        System.out.printf("median plain %,.0f msg/s, dedup %,.0f msg/s, dedup/plain %.2f%n", plain, dedup, dedup / plain);
    }

    private static double run(String uri, int seconds, boolean dedup, String queue) throws Exception {
        ConnectionFactory factory = new ConnectionFactory();
        factory.setUri(uri);
        try (Connection producerConnection = factory.newConnection();
                Connection consumerConnection = factory.newConnection()) {
            Channel admin = producerConnection.createChannel();
            Map<String, Object> arguments = new HashMap<>();
            if (dedup) {
                arguments.put("x-message-deduplication", true);
            }
            admin.queueDeclare(queue, true, false, false, arguments);

            AtomicLong received = new AtomicLong();
            Channel consumer = consumerConnection.createChannel();
            consumer.basicQos(100);
            consumer.basicConsume(queue, false, new DefaultConsumer(consumer) {
                @Override
                public void handleDelivery(String tag, Envelope envelope, AMQP.BasicProperties p, byte[] body)
                        throws java.io.IOException {
                    getChannel().basicAck(envelope.getDeliveryTag(), false);
                    received.incrementAndGet();
                }
            });

            Channel producer = producerConnection.createChannel();
            producer.confirmSelect();
            Semaphore outstanding = new Semaphore(100);
            ConcurrentSkipListSet<Long> unconfirmed = new ConcurrentSkipListSet<>();
            producer.addConfirmListener(
                    (tag, multiple) -> release(outstanding, unconfirmed, tag, multiple),
                    (tag, multiple) -> release(outstanding, unconfirmed, tag, multiple));
            byte[] body = new byte[1000];
            long warmupEnd = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
            long end = warmupEnd + TimeUnit.SECONDS.toNanos(seconds);
            long startCount = -1;
            long id = 0;
            while (System.nanoTime() < end) {
                if (startCount < 0 && System.nanoTime() >= warmupEnd) {
                    startCount = received.get();
                }
                outstanding.acquire();
                AMQP.BasicProperties properties = new AMQP.BasicProperties.Builder()
                        .deliveryMode(2)
                        .messageId(queue + "-" + id++)
                        .build();
                unconfirmed.add(producer.getNextPublishSeqNo());
                producer.basicPublish("", queue, properties, body);
            }
            double rate = (received.get() - Math.max(0, startCount)) / (double) seconds;
            admin.queueDelete(queue);
            return rate;
        }
    }

    /** A confirm (or nack) frees one slot, or one per tag up to it when multiple. */
    private static void release(Semaphore outstanding, ConcurrentSkipListSet<Long> unconfirmed, long tag, boolean multiple) {
        if (multiple) {
            NavigableSet<Long> settled = unconfirmed.headSet(tag, true);
            int count = settled.size();
            settled.clear();
            outstanding.release(count);
        } else if (unconfirmed.remove(tag)) {
            outstanding.release();
        }
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        java.util.Arrays.sort(sorted);
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
}
