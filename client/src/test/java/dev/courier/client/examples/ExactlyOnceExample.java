package dev.courier.client.examples;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.Delivery;
import dev.courier.client.ExactlyOnceConsumer;
import java.nio.charset.StandardCharsets;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.h2.jdbcx.JdbcDataSource;

/**
 * Exactly-once processing: the shipment row and the processed message id commit in one database
 * transaction; the ack comes after. A redelivered or re-published message is acked and skipped.
 */
public final class ExactlyOnceExample {
    public static int run(ConnectionFactory factory, DataSource database) throws Exception {
        try (java.sql.Connection db = database.getConnection()) {
            db.createStatement().execute("CREATE TABLE IF NOT EXISTS shipments (order_id VARCHAR(50))");
        }
        try (Connection connection = factory.newConnection()) {
            Channel channel = connection.createChannel();
            channel.queueDeclare("orders", true, false, false, null);

            CountDownLatch settled = new CountDownLatch(2);
            ExactlyOnceConsumer consumer = ExactlyOnceConsumer.builder(database, (transaction, delivery) -> {
                        try (PreparedStatement insert =
                                transaction.prepareStatement("INSERT INTO shipments VALUES (?)")) {
                            insert.setString(1, new String(delivery.getBody(), StandardCharsets.UTF_8));
                            insert.executeUpdate(); // committed together with the message id
                        }
                    })
                    .listener(new ExactlyOnceConsumer.Listener() {
                        @Override
                        public void onCommitted(String messageId, Delivery delivery) {
                            settled.countDown();
                        }

                        @Override
                        public void onDuplicate(String messageId, Delivery delivery) {
                            settled.countDown();
                        }
                    })
                    .start(connection, "orders");

            AMQP.BasicProperties props = new AMQP.BasicProperties.Builder()
                    .messageId("order-42")
                    .deliveryMode(2)
                    .build();
            byte[] body = "order-42".getBytes(StandardCharsets.UTF_8);
            channel.basicPublish("", "orders", props, body);
            channel.basicPublish("", "orders", props, body); // a publisher retry: same message id
            settled.await(10, TimeUnit.SECONDS);
            consumer.close();
        }
        try (java.sql.Connection db = database.getConnection();
                ResultSet rows = db.createStatement().executeQuery("SELECT COUNT(*) FROM shipments")) {
            rows.next();
            return rows.getInt(1); // 1
        }
    }

    public static void main(String[] args) throws Exception {
        JdbcDataSource database = new JdbcDataSource();
        database.setURL("jdbc:h2:file:./shop");
        System.out.println(run(new ConnectionFactory(), database));
    }
}
