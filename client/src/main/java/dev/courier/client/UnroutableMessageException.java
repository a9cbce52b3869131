package dev.courier.client;

import java.io.IOException;

/**
 * The broker returned a mandatory message ({@code basic.return}): no queue was bound for its
 * routing key, so nobody will ever receive it.
 */
public final class UnroutableMessageException extends IOException {
    private static final long serialVersionUID = 1L;

    private final int replyCode;

    public UnroutableMessageException(int replyCode, String replyText, String exchange, String routingKey) {
        super("message to exchange '" + exchange + "' with routing key '" + routingKey + "' was returned: " + replyCode
                + " " + replyText);
        this.replyCode = replyCode;
    }

    /** The return's reply code (312 NO_ROUTE). */
    public int replyCode() {
        return replyCode;
    }
}
