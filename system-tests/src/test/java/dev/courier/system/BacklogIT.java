package dev.courier.system;

import static org.assertj.core.api.Assertions.assertThat;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.DefaultConsumer;
import com.rabbitmq.client.Envelope;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Issue 3's long backlog: 2 million 1 KB persistent messages parked in one durable queue of a
 * broker process capped at {@code -Xmx512m}, the broker restarted on them, then every message
 * consumed in order. Minutes long, so tagged {@code backlog} and left out of the default build:
 * {@code mvn -B verify -pl system-tests -am -Dsurefire.excludedGroups= -Dtest=BacklogIT} (fewer
 * messages with {@code -Dcourier.backlog.messages=N}).
 */
@Tag("backlog")
class BacklogIT {
    private static final Logger LOG = LoggerFactory.getLogger(BacklogIT.class);
    private static final int BODY_BYTES = 1024;
    private static final int OUTSTANDING = 2_000;

    @TempDir
    Path dataDir;

    @Test
    void shouldConsumeTwoMillionParkedMessagesInOrderAfterARestartWithASmallHeap() throws Exception {
        int messages = Integer.getInteger("courier.backlog.messages", 2_000_000);
        long started = System.nanoTime();
        try (BrokerProcess broker = BrokerProcess.start(dataDir);
                Connection connection = factory(broker).newConnection()) {
            Channel channel = connection.createChannel();
            channel.queueDeclare("backlog", true, false, false, null);
            publishInOrder(channel, messages);
            LOG.info("{} messages confirmed in {} s", messages, seconds(started));
        }

        long restarted = System.nanoTime();
        try (BrokerProcess broker = BrokerProcess.start(dataDir);
                Connection connection = factory(broker).newConnection()) {
            LOG.info("restarted on the backlog in {} s", seconds(restarted));
            Channel channel = connection.createChannel();
            assertThat(channel.queueDeclarePassive("backlog").getMessageCount()).isEqualTo(messages);
            long consuming = System.nanoTime();
            assertThat(consumeInOrder(channel, messages).get(60, TimeUnit.MINUTES))
                    .as("messages received in order")
                    .isEqualTo(messages);
            LOG.info("{} messages consumed in order in {} s", messages, seconds(consuming));
            assertThat(channel.queueDeclarePassive("backlog").getMessageCount()).isZero();
        }
    }

    private static ConnectionFactory factory(BrokerProcess broker) {
        ConnectionFactory factory = new ConnectionFactory();
        factory.setPort(broker.amqpPort());
        factory.setAutomaticRecoveryEnabled(false);
        return factory;
    }

    /** One channel, so the queue's order is the publish order; at most OUTSTANDING unconfirmed. */
    private static void publishInOrder(Channel channel, int messages) throws Exception {
        channel.confirmSelect();
        AMQP.BasicProperties persistent =
                new AMQP.BasicProperties.Builder().deliveryMode(2).build();
        byte[] body = new byte[BODY_BYTES];
        for (int i = 0; i < messages; i++) {
            ByteBuffer.wrap(body).putInt(0, i);
            channel.basicPublish("", "backlog", persistent, body);
            if ((i + 1) % OUTSTANDING == 0) {
                channel.waitForConfirmsOrDie(Duration.ofMinutes(2).toMillis());
            }
        }
        channel.waitForConfirmsOrDie(Duration.ofMinutes(2).toMillis());
    }

    /** Completes with the count once all arrived in order, or exceptionally at the first out of order. */
    private static CompletableFuture<Integer> consumeInOrder(Channel channel, int messages) throws Exception {
        CompletableFuture<Integer> done = new CompletableFuture<>();
        channel.basicQos(1_000);
        channel.basicConsume("backlog", false, new DefaultConsumer(channel) {
            private int next;

            @Override
            public void handleDelivery(String tag, Envelope envelope, AMQP.BasicProperties properties, byte[] body)
                    throws java.io.IOException {
                int seq = ByteBuffer.wrap(body).getInt(0);
                if (seq != next || body.length != BODY_BYTES) {
                    done.completeExceptionally(new AssertionError(
                            "expected message " + next + " but got " + seq + " (" + body.length + " bytes)"));
                    return;
                }
                next++;
                if (next % 500 == 0 || next == messages) {
                    channel.basicAck(envelope.getDeliveryTag(), true);
                }
                if (next == messages) {
                    done.complete(next);
                }
            }
        });
        return done;
    }

    private static long seconds(long sinceNanos) {
        return TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - sinceNanos);
    }
}
