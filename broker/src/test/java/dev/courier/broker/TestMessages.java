package dev.courier.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.courier.protocol.BasicProperties;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Creates messages for tests and remembers them, so a test can check at the end that every
 * message and both of its buffers were released (reference count 0): nothing leaked.
 */
final class TestMessages {
    private final List<Message> created = new ArrayList<>();

    /** A message for the default exchange with empty properties. */
    Message create(String body) {
        return create("", "", BasicProperties.EMPTY, body);
    }

    /** A message with these headers (for headers exchanges). */
    Message withHeaders(Map<String, Object> headers) {
        return create("", "", BasicProperties.EMPTY.withHeaders(headers), "");
    }

    Message create(String exchange, String routingKey, BasicProperties properties, String body) {
        ByteBuf raw = Unpooled.buffer();
        properties.encode(raw);
        Message message = new Message(exchange, routingKey, raw, Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
        synchronized (created) {
            created.add(message);
        }
        return message;
    }

    static String body(Delivery delivery) {
        return delivery.message().body().toString(StandardCharsets.UTF_8);
    }

    /** Waits until every message created here was released, and fails naming one that was not. */
    void assertAllReleased() {
        List<Message> all;
        synchronized (created) {
            all = List.copyOf(created);
        }
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            for (Message message : all) {
                assertThat(message.refCnt())
                        .as("references left on %s", message)
                        .isZero();
                assertThat(message.body().refCnt()).as("body of %s", message).isZero();
                assertThat(message.rawProperties().refCnt())
                        .as("properties of %s", message)
                        .isZero();
            }
        });
    }
}
