package dev.courier.server.amqp;

import dev.courier.broker.Message;
import dev.courier.protocol.BasicProperties;
import io.netty.buffer.ByteBuf;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How a node of the cluster marks a message it forwards to a classic queue of another node: a
 * header naming the queue, which that node removes before the queue takes the message (only
 * on a node link: from clients it is an ordinary header).
 */
public final class ForwardedPublish {
    /** The header naming the target queue. */
    public static final String TARGET_HEADER = "x-courier-forward-to";

    private ForwardedPublish() {}

    /** The queue a forwarded message is for, or null. */
    static String target(Message message) {
        Map<String, Object> headers = message.properties().headers();
        Object target = headers == null ? null : headers.get(TARGET_HEADER);
        if (target instanceof byte[] bytes) {
            return new String(bytes, java.nio.charset.StandardCharsets.UTF_8);
        }
        return target == null ? null : target.toString();
    }

    /** A copy of {@code message} without the target header (the caller keeps its reference). */
    static Message withoutTarget(Message message) {
        BasicProperties properties = message.properties();
        Map<String, Object> headers = new LinkedHashMap<>(properties.headers());
        headers.remove(TARGET_HEADER);
        ByteBuf raw = message.rawProperties();
        ByteBuf encoded = raw.alloc().buffer(raw.readableBytes());
        properties.withHeaders(headers.isEmpty() ? null : headers).encode(encoded);
        return message.withRouting(message.exchange(), message.routingKey(), encoded);
    }
}
