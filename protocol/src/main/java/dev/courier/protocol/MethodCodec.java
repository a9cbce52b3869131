package dev.courier.protocol;

import static dev.courier.protocol.AmqpConstants.COMMAND_INVALID;
import static dev.courier.protocol.AmqpConstants.SYNTAX_ERROR;

import io.netty.buffer.ByteBuf;

/** Encodes and decodes method frame payloads (class id, method id, arguments). Thread-safe. */
public final class MethodCodec {
    private MethodCodec() {}

    /**
     * Decodes one method payload.
     *
     * @throws ProtocolException 503 COMMAND_INVALID for an unknown class or method, 502
     *     SYNTAX_ERROR for truncated or malformed arguments; never any other exception
     */
    public static Method decode(ByteBuf payload) {
        if (payload.readableBytes() < 4) {
            throw new ProtocolException(
                    SYNTAX_ERROR, "method frame of " + payload.readableBytes() + " bytes is too short");
        }
        int classId = payload.readUnsignedShort();
        int methodId = payload.readUnsignedShort();
        Method method;
        try {
            method = Amqp.readArguments(classId, methodId, payload);
        } catch (IndexOutOfBoundsException e) {
            throw new ProtocolException(
                    SYNTAX_ERROR,
                    "truncated arguments for method class=" + classId + " method=" + methodId,
                    classId,
                    methodId);
        } catch (ProtocolException e) {
            throw new ProtocolException(e.replyCode(), e.getMessage(), classId, methodId);
        }
        if (method == null) {
            throw new ProtocolException(
                    COMMAND_INVALID, "unknown method class=" + classId + " method=" + methodId, classId, methodId);
        }
        return method;
    }

    /** Writes class id, method id and arguments. */
    public static void encode(Method method, ByteBuf out) {
        out.writeShort(method.classId());
        out.writeShort(method.methodId());
        method.writeArguments(out);
    }
}
