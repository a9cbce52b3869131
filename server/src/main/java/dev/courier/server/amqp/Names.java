package dev.courier.server.amqp;

import java.security.SecureRandom;
import java.util.Base64;

/** Server-generated names: consumer tags and direct reply-to addresses. Thread-safe. */
final class Names {
    private static final SecureRandom RANDOM = new SecureRandom();

    private Names() {}

    /** A consumer tag in RabbitMQ's form, {@code amq.ctag-} and 22 URL-safe base64 characters. */
    static String consumerTag() {
        return "amq.ctag-" + random(16);
    }

    /** {@code bytes} random bytes as unpadded URL-safe base64. */
    static String random(int bytes) {
        byte[] buffer = new byte[bytes];
        RANDOM.nextBytes(buffer);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(buffer);
    }
}
