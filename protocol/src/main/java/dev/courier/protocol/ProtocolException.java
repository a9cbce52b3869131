package dev.courier.protocol;

/**
 * Input that breaks the AMQP 0-9-1 rules: carries the reply code the peer must be closed with.
 * Created without a stack trace: it is a result, not a bug.
 */
public final class ProtocolException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int replyCode;
    private final int classId;
    private final int methodId;

    public ProtocolException(int replyCode, String text) {
        this(replyCode, text, 0, 0);
    }

    public ProtocolException(int replyCode, String text, int classId, int methodId) {
        super(text, null, false, false);
        this.replyCode = replyCode;
        this.classId = classId;
        this.methodId = methodId;
    }

    /** The AMQP reply code, e.g. {@link AmqpConstants#FRAME_ERROR}. */
    public int replyCode() {
        return replyCode;
    }

    /** The class id of the offending method, 0 when unknown. */
    public int classId() {
        return classId;
    }

    /** The method id of the offending method, 0 when unknown. */
    public int methodId() {
        return methodId;
    }
}
