package dev.courier.wire;

import static dev.courier.wire.Wire.bytes;
import static dev.courier.wire.Wire.closedBy;
import static dev.courier.wire.Wire.replyCode;
import static dev.courier.wire.Wire.replyText;
import static dev.courier.wire.Wire.text;
import static org.assertj.core.api.Assertions.assertThat;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.GetResponse;
import com.rabbitmq.client.MessageProperties;
import com.rabbitmq.client.ShutdownSignalException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** tx.select / tx.commit / tx.rollback: publishes and acks of a transaction take effect together or not at all. */
class TransactionsTest {
    @RegisterExtension
    static final CourierBroker broker = new CourierBroker();

    private static String queue(Channel channel) throws Exception {
        return channel.queueDeclare(CourierBroker.unique("tx"), false, false, true, null)
                .getQueue();
    }

    @Test
    void shouldMakePublishesVisibleOnlyAtCommit() throws Exception {
        Connection connection = broker.connect();
        Channel observer = connection.createChannel();
        String queue = queue(observer);
        Channel tx = connection.createChannel();
        tx.txSelect();
        for (int i = 0; i < 3; i++) {
            tx.basicPublish("", queue, null, bytes("m" + i));
        }
        tx.basicQos(1); // a round trip on the tx channel: the publishes have arrived
        assertThat(observer.queueDeclarePassive(queue).getMessageCount()).isZero();
        tx.txCommit();
        assertThat(observer.queueDeclarePassive(queue).getMessageCount()).isEqualTo(3);
        assertThat(text(observer.basicGet(queue, true).getBody())).isEqualTo("m0");
    }

    @Test
    void shouldDropPublishesAndAcksOnRollback() throws Exception {
        Connection connection = broker.connect();
        Channel setup = connection.createChannel();
        String queue = queue(setup);
        setup.basicPublish("", queue, null, bytes("a"));
        setup.basicPublish("", queue, null, bytes("b"));
        Wire.await().until(() -> setup.queueDeclarePassive(queue).getMessageCount() == 2);

        Channel tx = connection.createChannel();
        tx.txSelect();
        GetResponse first = tx.basicGet(queue, false);
        GetResponse second = tx.basicGet(queue, false);
        tx.basicAck(second.getEnvelope().getDeliveryTag(), true);
        tx.basicPublish("", queue, null, bytes("never"));
        tx.txRollback();
        tx.close(); // the acks were rolled back: both messages come back
        Wire.await().until(() -> setup.queueDeclarePassive(queue).getMessageCount() == 2);
        GetResponse again = setup.basicGet(queue, true);
        assertThat(text(again.getBody())).isEqualTo(text(first.getBody()));
        assertThat(again.getEnvelope().isRedeliver()).isTrue();
        assertThat(text(setup.basicGet(queue, true).getBody())).isEqualTo("b");
        assertThat(setup.basicGet(queue, true))
                .as("the rolled-back publish never arrived")
                .isNull();
    }

    @Test
    void shouldConsumeTransformAndProduceInOneTransaction() throws Exception {
        Connection connection = broker.connect();
        Channel setup = connection.createChannel();
        String input = queue(setup);
        String output = queue(setup);
        setup.basicPublish("", input, null, bytes("order 7"));
        Wire.await().until(() -> setup.queueDeclarePassive(input).getMessageCount() == 1);

        Channel tx = connection.createChannel();
        tx.txSelect();
        GetResponse in = tx.basicGet(input, false);
        tx.basicPublish("", output, null, bytes("invoice for " + text(in.getBody())));
        tx.basicAck(in.getEnvelope().getDeliveryTag(), false);
        tx.txCommit();

        assertThat(setup.queueDeclarePassive(input).getMessageCount()).isZero();
        tx.close();
        assertThat(setup.queueDeclarePassive(input).getMessageCount())
                .as("the ack was committed: closing does not bring the input back")
                .isZero();
        assertThat(text(Wire.getEventually(setup, output).getBody())).isEqualTo("invoice for order 7");
    }

    @Test
    void shouldRefuseToMixTransactionsAndConfirmsAndToCommitOutsideATransaction() throws Exception {
        Connection connection = broker.connect();
        ShutdownSignalException notTx =
                closedBy(() -> connection.createChannel().txCommit());
        assertThat(replyCode(notTx)).isEqualTo(406);
        assertThat(replyText(notTx)).contains("not transactional");

        Channel confirming = connection.createChannel();
        confirming.confirmSelect();
        ShutdownSignalException toTx = closedBy(confirming::txSelect);
        assertThat(replyText(toTx)).contains("cannot switch from confirm to tx mode");

        Channel transactional = connection.createChannel();
        transactional.txSelect();
        ShutdownSignalException toConfirm = closedBy(transactional::confirmSelect);
        assertThat(replyText(toConfirm)).contains("cannot switch from tx to confirm mode");
    }

    @Test
    void shouldReleaseAnUncommittedTransactionWhenTheChannelCloses() throws Exception {
        Connection connection = broker.connect();
        Channel setup = connection.createChannel();
        String queue = queue(setup);
        Channel tx = connection.createChannel();
        tx.txSelect();
        tx.basicPublish("", queue, MessageProperties.PERSISTENT_BASIC, new byte[64 * 1024]);
        tx.close(); // the leak detector fails the run if the held body is not released
        assertThat(setup.queueDeclarePassive(queue).getMessageCount()).isZero();
    }

    @Test
    void shouldApplyNothingOfACommitWhosePublishCannotBeRouted() throws Exception {
        Connection connection = broker.connect();
        Channel setup = connection.createChannel();
        String input = queue(setup);
        String output = queue(setup);
        String exchange = CourierBroker.unique("tx-x");
        setup.exchangeDeclare(exchange, "fanout", false, true, null);
        setup.basicPublish("", input, null, bytes("in"));
        Wire.await().until(() -> setup.queueDeclarePassive(input).getMessageCount() == 1);

        Channel tx = connection.createChannel();
        tx.txSelect();
        GetResponse in = tx.basicGet(input, false);
        tx.basicPublish("", output, null, bytes("first output"));
        tx.basicPublish(exchange, "", null, bytes("second output"));
        tx.basicAck(in.getEnvelope().getDeliveryTag(), false);
        setup.exchangeDelete(exchange);
        ShutdownSignalException failed = closedBy(tx::txCommit);

        assertThat(replyCode(failed)).isEqualTo(404);
        Wire.await().until(() -> setup.queueDeclarePassive(input).getMessageCount() == 1); // ack not applied
        assertThat(setup.queueDeclarePassive(output).getMessageCount())
                .as("the publish before the failing one did not reach its queue either")
                .isZero();
    }

    @Test
    void shouldKeepACommittedTransformAcrossARestart(@TempDir Path dataDir) throws Exception {
        try (RestartableServer server = new RestartableServer(dataDir)) {
            server.start();
            Channel setup = server.connect().createChannel();
            setup.queueDeclare("orders", true, false, false, null);
            setup.queueDeclare("invoices", true, false, false, null);
            setup.confirmSelect();
            for (int i = 0; i < 3; i++) {
                setup.basicPublish("", "orders", MessageProperties.PERSISTENT_BASIC, bytes("order " + i));
            }
            setup.waitForConfirmsOrDie(10_000);

            Channel tx = server.connect().createChannel();
            tx.txSelect();
            for (int i = 0; i < 2; i++) {
                GetResponse order = tx.basicGet("orders", false);
                tx.basicPublish(
                        "",
                        "invoices",
                        MessageProperties.PERSISTENT_BASIC,
                        bytes("invoice for " + text(order.getBody())));
                tx.basicAck(order.getEnvelope().getDeliveryTag(), false);
            }
            tx.txCommit();

            server.restart();
            Channel after = server.connect().createChannel();
            assertThat(after.queueDeclarePassive("orders").getMessageCount()).isEqualTo(1);
            assertThat(text(after.basicGet("orders", true).getBody())).isEqualTo("order 2");
            assertThat(text(after.basicGet("invoices", true).getBody())).isEqualTo("invoice for order 0");
            assertThat(text(after.basicGet("invoices", true).getBody())).isEqualTo("invoice for order 1");
            assertThat(after.basicGet("invoices", true)).isNull();
        }
    }
}
