package dev.courier.protocol;

import io.netty.buffer.ByteBuf;

/**
 * An AMQP 0-9-1 method: the records in {@link Amqp}. Immutable and thread-safe.
 */
public interface Method {
    /**
     * The AMQP class id (10 = connection, 60 = basic, …). Not named {@code classId}: connection.close
     * and channel.close have arguments of that name.
     */
    int protocolClassId();

    /** The method id within its class. */
    int protocolMethodId();

    /** The spec name, e.g. {@code basic.publish}. */
    String protocolName();

    /** True when a content header and body follow the method (publish, deliver, get-ok, return). */
    boolean hasContent();

    /** True when the method expects a reply. */
    boolean synchronous();

    /** Writes the method's arguments (not its class and method ids). */
    void writeArguments(ByteBuf out);
}
