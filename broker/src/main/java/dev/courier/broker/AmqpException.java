package dev.courier.broker;

import dev.courier.protocol.AmqpConstants;

/**
 * A broker operation refused with an AMQP reply code; the server turns it into channel.close
 * (soft errors: 403, 404, 405, 406) or connection.close (hard errors). Carries no stack trace:
 * it is an answer to the client, not a bug.
 */
public final class AmqpException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int replyCode;

    public AmqpException(int replyCode, String text) {
        super(text, null, false, false);
        this.replyCode = replyCode;
    }

    public int replyCode() {
        return replyCode;
    }

    public static AmqpException notFound(String text) {
        return new AmqpException(AmqpConstants.NOT_FOUND, text);
    }

    public static AmqpException accessRefused(String text) {
        return new AmqpException(AmqpConstants.ACCESS_REFUSED, text);
    }

    public static AmqpException resourceLocked(String text) {
        return new AmqpException(AmqpConstants.RESOURCE_LOCKED, text);
    }

    public static AmqpException preconditionFailed(String text) {
        return new AmqpException(AmqpConstants.PRECONDITION_FAILED, text);
    }

    public static AmqpException notAllowed(String text) {
        return new AmqpException(AmqpConstants.NOT_ALLOWED, text);
    }

    public static AmqpException commandInvalid(String text) {
        return new AmqpException(AmqpConstants.COMMAND_INVALID, text);
    }

    public static AmqpException notImplemented(String text) {
        return new AmqpException(AmqpConstants.NOT_IMPLEMENTED, text);
    }
}
