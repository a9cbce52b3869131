package dev.courier.protocol;

import static dev.courier.protocol.AmqpConstants.COMMAND_INVALID;
import static dev.courier.protocol.AmqpConstants.FRAME_ERROR;

import io.netty.buffer.ByteBuf;

/** Encodes and decodes method frame payloads (class id, method id, arguments). Thread-safe. */
public final class MethodCodec {
    private MethodCodec() {}

    /**
     * Decodes one method payload.
     *
     * @throws ProtocolException 503 COMMAND_INVALID for an unknown class or method, 501
     *     FRAME_ERROR for truncated or malformed arguments (RabbitMQ answers those with
     *     frame_error too); never any other exception
     */
    public static Method decode(ByteBuf payload) {
        if (payload.readableBytes() < 4) {
            throw new ProtocolException(
                    FRAME_ERROR, "method frame of " + payload.readableBytes() + " bytes is too short");
        }
        int classId = payload.readUnsignedShort();
        int methodId = payload.readUnsignedShort();
        Method method;
        try {
            method = Amqp.readArguments(classId, methodId, payload);
        } catch (IndexOutOfBoundsException e) {
            throw new ProtocolException(
                    FRAME_ERROR,
                    "cannot decode method class=" + classId + " method=" + methodId + ": truncated arguments",
                    classId,
                    methodId);
        } catch (ProtocolException e) {
            throw new ProtocolException(
                    FRAME_ERROR,
                    "cannot decode method class=" + classId + " method=" + methodId + ": " + e.getMessage(),
                    classId,
                    methodId);
        }
        if (method == null) {
            throw new ProtocolException(
                    COMMAND_INVALID, "unknown method class=" + classId + " method=" + methodId, classId, methodId);
        }
        return method;
    }

    /** Writes class id, method id and arguments. */
    public static void encode(Method method, ByteBuf out) {
        out.writeShort(method.protocolClassId());
        out.writeShort(method.protocolMethodId());
        method.writeArguments(out);
    }
}
