// Constants from amqp-rabbitmq-0.9.1.json (generated once, kept by hand).
package dev.courier.protocol;

/** Frame types, sizes and reply codes of AMQP 0-9-1. */
public final class AmqpConstants {
    private AmqpConstants() {}

    /** The protocol header a 0-9-1 client sends first, and the one we answer a mismatch with. */
    private static final byte[] HEADER = {'A', 'M', 'Q', 'P', 0, 0, 9, 1};

    /** A copy of the protocol header bytes. */
    public static final byte[] PROTOCOL_HEADER = HEADER.clone();

    /** {@code FRAME-METHOD}. */
    public static final int FRAME_METHOD = 1;

    /** {@code FRAME-HEADER}. */
    public static final int FRAME_HEADER = 2;

    /** {@code FRAME-BODY}. */
    public static final int FRAME_BODY = 3;

    /** {@code FRAME-HEARTBEAT}. */
    public static final int FRAME_HEARTBEAT = 8;

    /** {@code FRAME-MIN-SIZE}. */
    public static final int FRAME_MIN_SIZE = 4096;

    /** {@code FRAME-END}. */
    public static final int FRAME_END = 206;

    /** {@code REPLY-SUCCESS}. */
    public static final int REPLY_SUCCESS = 200;

    /** {@code CONTENT-TOO-LARGE} (soft-error). */
    public static final int CONTENT_TOO_LARGE = 311;

    /** {@code NO-ROUTE} (soft-error). */
    public static final int NO_ROUTE = 312;

    /** {@code NO-CONSUMERS} (soft-error). */
    public static final int NO_CONSUMERS = 313;

    /** {@code ACCESS-REFUSED} (soft-error). */
    public static final int ACCESS_REFUSED = 403;

    /** {@code NOT-FOUND} (soft-error). */
    public static final int NOT_FOUND = 404;

    /** {@code RESOURCE-LOCKED} (soft-error). */
    public static final int RESOURCE_LOCKED = 405;

    /** {@code PRECONDITION-FAILED} (soft-error). */
    public static final int PRECONDITION_FAILED = 406;

    /** {@code CONNECTION-FORCED} (hard-error). */
    public static final int CONNECTION_FORCED = 320;

    /** {@code INVALID-PATH} (hard-error). */
    public static final int INVALID_PATH = 402;

    /** {@code FRAME-ERROR} (hard-error). */
    public static final int FRAME_ERROR = 501;

    /** {@code SYNTAX-ERROR} (hard-error). */
    public static final int SYNTAX_ERROR = 502;

    /** {@code COMMAND-INVALID} (hard-error). */
    public static final int COMMAND_INVALID = 503;

    /** {@code CHANNEL-ERROR} (hard-error). */
    public static final int CHANNEL_ERROR = 504;

    /** {@code UNEXPECTED-FRAME} (hard-error). */
    public static final int UNEXPECTED_FRAME = 505;

    /** {@code RESOURCE-ERROR} (hard-error). */
    public static final int RESOURCE_ERROR = 506;

    /** {@code NOT-ALLOWED} (hard-error). */
    public static final int NOT_ALLOWED = 530;

    /** {@code NOT-IMPLEMENTED} (hard-error). */
    public static final int NOT_IMPLEMENTED = 540;

    /** {@code INTERNAL-ERROR} (hard-error). */
    public static final int INTERNAL_ERROR = 541;

    /** RabbitMQ's symbolic name of a reply code, e.g. {@code NOT_FOUND}. */
    public static String replyText(int code) {
        return switch (code) {
            case 200 -> "REPLY_SUCCESS";
            case 311 -> "CONTENT_TOO_LARGE";
            case 312 -> "NO_ROUTE";
            case 313 -> "NO_CONSUMERS";
            case 403 -> "ACCESS_REFUSED";
            case 404 -> "NOT_FOUND";
            case 405 -> "RESOURCE_LOCKED";
            case 406 -> "PRECONDITION_FAILED";
            case 320 -> "CONNECTION_FORCED";
            case 402 -> "INVALID_PATH";
            case 501 -> "FRAME_ERROR";
            case 502 -> "SYNTAX_ERROR";
            case 503 -> "COMMAND_INVALID";
            case 504 -> "CHANNEL_ERROR";
            case 505 -> "UNEXPECTED_FRAME";
            case 506 -> "RESOURCE_ERROR";
            case 530 -> "NOT_ALLOWED";
            case 540 -> "NOT_IMPLEMENTED";
            case 541 -> "INTERNAL_ERROR";
            default -> "ERROR_" + code;
        };
    }

    /** The longest reply text a close method can carry: a short string. */
    public static final int MAX_REPLY_TEXT_BYTES = 255;

    /**
     * The reply text of a channel.close or connection.close: the code's name, " - ", then the
     * detail, cut to {@link #MAX_REPLY_TEXT_BYTES} UTF-8 bytes (on a character boundary) when a
     * long name in the detail would make it longer; a longer short string cannot be encoded.
     */
    public static String closeText(int code, String detail) {
        String text = replyText(code) + " - " + detail;
        if (text.length() * 3 <= MAX_REPLY_TEXT_BYTES) {
            return text;
        }
        int bytes = 0;
        int end = 0;
        while (end < text.length()) {
            int codePoint = text.codePointAt(end);
            int size = codePoint < 0x80 ? 1 : codePoint < 0x800 ? 2 : codePoint < 0x10000 ? 3 : 4;
            if (bytes + size > MAX_REPLY_TEXT_BYTES) {
                break;
            }
            bytes += size;
            end += Character.charCount(codePoint);
        }
        return text.substring(0, end);
    }

    /** True for codes the spec classes as hard errors: they close the whole connection. */
    public static boolean isHardError(int code) {
        return switch (code) {
            case CONNECTION_FORCED,
                    INVALID_PATH,
                    FRAME_ERROR,
                    SYNTAX_ERROR,
                    COMMAND_INVALID,
                    CHANNEL_ERROR,
                    UNEXPECTED_FRAME,
                    RESOURCE_ERROR,
                    NOT_ALLOWED,
                    NOT_IMPLEMENTED,
                    INTERNAL_ERROR -> true;
            default -> false;
        };
    }
}
