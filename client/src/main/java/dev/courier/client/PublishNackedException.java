package dev.courier.client;

import java.io.IOException;

/**
 * The broker refused a message with {@code basic.nack} (e.g. a full queue with {@code x-overflow:
 * reject-publish}, or an internal error). Not retried: publishing it again would meet the same
 * refusal.
 */
public final class PublishNackedException extends IOException {
    private static final long serialVersionUID = 1L;

    public PublishNackedException(String messageId) {
        super("the broker nacked message " + messageId);
    }
}
