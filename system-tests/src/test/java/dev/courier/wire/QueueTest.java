package dev.courier.wire;

import static dev.courier.wire.Wire.bytes;
import static dev.courier.wire.Wire.closedBy;
import static dev.courier.wire.Wire.replyCode;
import static dev.courier.wire.Wire.replyText;
import static dev.courier.wire.Wire.text;
import static org.assertj.core.api.Assertions.assertThat;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.DefaultConsumer;
import com.rabbitmq.client.GetResponse;
import com.rabbitmq.client.ShutdownSignalException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The message-queue pattern: declare, counts, FIFO, exclusive, auto-delete, purge, delete. */
class QueueTest {
    @RegisterExtension
    static final CourierBroker broker = new CourierBroker();

    @Test
    void shouldDeliverTenThousandMessagesInFifoOrder() throws Exception {
        Channel channel = broker.connect().createChannel();
        String queue = channel.queueDeclare(CourierBroker.unique("fifo"), false, false, true, null)
                .getQueue();
        channel.confirmSelect();
        for (int i = 0; i < 10_000; i++) {
            channel.basicPublish("", queue, null, bytes(Integer.toString(i)));
        }
        channel.waitForConfirmsOrDie(10_000);
        assertThat(channel.queueDeclarePassive(queue).getMessageCount()).isEqualTo(10_000);
        for (int i = 0; i < 10_000; i++) {
            GetResponse response = channel.basicGet(queue, true);
            assertThat(text(response.getBody())).isEqualTo(Integer.toString(i));
            assertThat(response.getMessageCount()).isEqualTo(10_000 - i - 1);
        }
        assertThat(channel.basicGet(queue, true)).isNull();
    }

    @Test
    void shouldNameServerNamedQueuesWithTheAmqGenPrefix() throws Exception {
        Channel channel = broker.connect().createChannel();
        AMQP.Queue.DeclareOk ok = channel.queueDeclare();
        assertThat(ok.getQueue()).startsWith("amq.gen-").hasSize("amq.gen-".length() + 22);
        assertThat(ok.getMessageCount()).isZero();
        assertThat(ok.getConsumerCount()).isZero();
    }

    @Test
    void shouldCountMessagesAndConsumersInDeclareOk() throws Exception {
        Channel channel = broker.connect().createChannel();
        String queue = channel.queueDeclare(CourierBroker.unique("counts"), false, false, true, null)
                .getQueue();
        for (int i = 0; i < 3; i++) {
            channel.basicPublish("", queue, null, bytes("m" + i));
        }
        // publishes and the declare are ordered on one channel: the count includes all three
        assertThat(channel.queueDeclare(queue, false, false, true, null).getMessageCount())
                .isEqualTo(3);
        Channel other = broker.connect().createChannel();
        other.basicQos(1);
        other.basicConsume(queue, false, new DefaultConsumer(other));
        Wire.await().until(() -> channel.queueDeclarePassive(queue).getConsumerCount() == 1);
        AMQP.Queue.DeclareOk ok = channel.queueDeclarePassive(queue);
        assertThat(ok.getMessageCount()).isEqualTo(2); // one is unacked at the consumer
    }

    @Test
    void shouldCloseTheChannelWith404OnPassiveDeclareOfAMissingQueue() throws Exception {
        Connection connection = broker.connect();
        Channel channel = connection.createChannel();
        ShutdownSignalException e = closedBy(() -> channel.queueDeclarePassive(CourierBroker.unique("missing")));
        assertThat(replyCode(e)).isEqualTo(404);
        assertThat(e.isHardError()).isFalse();
        assertThat(replyText(e)).startsWith("NOT_FOUND - no queue");
        assertThat(connection.isOpen()).isTrue();
        assertThat(connection.createChannel().queueDeclare().getQueue()).startsWith("amq.gen-");
    }

    @Test
    void shouldRefuseAnotherConnectionsExclusiveQueueWith405() throws Exception {
        Channel owner = broker.connect().createChannel();
        String queue = owner.queueDeclare(CourierBroker.unique("excl"), false, true, false, null)
                .getQueue();
        Channel other = broker.connect().createChannel();
        ShutdownSignalException e = closedBy(() -> other.basicGet(queue, true));
        assertThat(replyCode(e)).isEqualTo(405);
        assertThat(replyText(e)).startsWith("RESOURCE_LOCKED - cannot obtain exclusive access to locked queue");
    }

    @Test
    void shouldDeleteExclusiveQueuesWhenTheirConnectionCloses() throws Exception {
        Connection connection = broker.connect();
        String queue = connection
                .createChannel()
                .queueDeclare(CourierBroker.unique("excl"), false, true, false, null)
                .getQueue();
        connection.close();
        Channel channel = broker.connect().createChannel();
        Wire.await().until(() -> {
            Channel probe = channel.getConnection().createChannel();
            try {
                probe.queueDeclarePassive(queue);
                probe.close();
                return false;
            } catch (java.io.IOException e) {
                return true;
            }
        });
    }

    @Test
    void shouldDeleteAnAutoDeleteQueueWhenItsLastConsumerCancels() throws Exception {
        Channel channel = broker.connect().createChannel();
        String queue = channel.queueDeclare(CourierBroker.unique("autodel"), false, false, true, null)
                .getQueue();
        String first = channel.basicConsume(queue, true, new DefaultConsumer(channel));
        String second = channel.basicConsume(queue, true, new DefaultConsumer(channel));
        channel.basicCancel(first);
        assertThat(channel.queueDeclarePassive(queue).getConsumerCount()).isEqualTo(1);
        channel.basicCancel(second);
        Channel probe = broker.connect().createChannel();
        Wire.await().untilAsserted(() -> {
            Channel c = probe.getConnection().createChannel();
            ShutdownSignalException e = closedBy(() -> c.queueDeclarePassive(queue));
            assertThat(replyCode(e)).isEqualTo(404);
        });
    }

    @Test
    void shouldPurgeReadyMessagesAndAnswerTheirCount() throws Exception {
        Channel channel = broker.connect().createChannel();
        String queue = channel.queueDeclare(CourierBroker.unique("purge"), false, false, true, null)
                .getQueue();
        for (int i = 0; i < 5; i++) {
            channel.basicPublish("", queue, null, bytes("m"));
        }
        assertThat(channel.queuePurge(queue).getMessageCount()).isEqualTo(5);
        assertThat(channel.queueDeclarePassive(queue).getMessageCount()).isZero();
    }

    @Test
    void shouldRefuseDeleteIfUnusedOrIfEmptyWith406() throws Exception {
        Connection connection = broker.connect();
        Channel channel = connection.createChannel();
        String queue = channel.queueDeclare(CourierBroker.unique("del"), false, false, false, null)
                .getQueue();
        channel.basicPublish("", queue, null, bytes("m"));
        ShutdownSignalException notEmpty = closedBy(() -> channel.queueDelete(queue, false, true));
        assertThat(replyCode(notEmpty)).isEqualTo(406);

        Channel second = connection.createChannel();
        second.basicConsume(queue, false, new DefaultConsumer(second));
        Channel third = connection.createChannel();
        ShutdownSignalException inUse = closedBy(() -> third.queueDelete(queue, true, false));
        assertThat(replyCode(inUse)).isEqualTo(406);

        Channel fourth = connection.createChannel();
        assertThat(fourth.queueDelete(queue).getMessageCount()).isEqualTo(0); // the message is unacked
    }

    @Test
    void shouldAnswerDeleteOkForAMissingQueue() throws Exception {
        Channel channel = broker.connect().createChannel();
        assertThat(channel.queueDelete(CourierBroker.unique("never")).getMessageCount())
                .isZero();
    }

    @Test
    void shouldRefuseTheReservedAmqPrefixWith403() throws Exception {
        Channel channel = broker.connect().createChannel();
        ShutdownSignalException e = closedBy(() -> channel.queueDeclare("amq.mine", false, false, true, null));
        assertThat(replyCode(e)).isEqualTo(403);
    }

    @Test
    void shouldRefuseAnInequivalentRedeclareWith406() throws Exception {
        Channel channel = broker.connect().createChannel();
        String queue = CourierBroker.unique("redeclare");
        channel.queueDeclare(queue, false, false, true, Map.of("x-max-length", 10));
        channel.queueDeclare(queue, false, false, true, Map.of("x-max-length", 10));
        ShutdownSignalException e =
                closedBy(() -> channel.queueDeclare(queue, true, false, true, Map.of("x-max-length", 10)));
        assertThat(replyCode(e)).isEqualTo(406);
        assertThat(replyText(e)).contains("inequivalent arg 'durable'");
    }

    @Test
    void shouldUseTheLastDeclaredQueueForAnEmptyQueueName() throws Exception {
        Channel channel = broker.connect().createChannel();
        String queue = channel.queueDeclare().getQueue();
        channel.basicPublish("", queue, null, bytes("hello"));
        GetResponse response = Wire.getEventually(channel, "");
        assertThat(text(response.getBody())).isEqualTo("hello");
    }

    @Test
    void shouldReportDurableQueuesAsDeclared() throws Exception {
        Channel channel = broker.connect().createChannel();
        String queue = CourierBroker.unique("durable");
        channel.queueDeclare(queue, true, false, false, null);
        List<String> seen = new ArrayList<>();
        if (broker.isCourier()) {
            broker.server().broker().vhost("/").queues().forEach(q -> {
                if (q.name().equals(queue) && q.durable()) {
                    seen.add(q.name());
                }
            });
            assertThat(seen).containsExactly(queue);
        }
        channel.queueDelete(queue);
    }
}
