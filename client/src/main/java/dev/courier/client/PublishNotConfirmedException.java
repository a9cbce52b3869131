package dev.courier.client;

import java.io.IOException;

/**
 * A message's fate is unknown: its connection was lost (as many times as the publisher retries)
 * or the publisher was closed before the broker confirmed it. The broker may or may not have it;
 * publishing it again with the same message id is safe on a queue with {@code
 * x-message-deduplication}.
 */
public final class PublishNotConfirmedException extends IOException {
    private static final long serialVersionUID = 1L;

    private final String messageId;

    public PublishNotConfirmedException(String messageId, String message, Throwable cause) {
        super(message, cause);
        this.messageId = messageId;
    }

    public String messageId() {
        return messageId;
    }
}
