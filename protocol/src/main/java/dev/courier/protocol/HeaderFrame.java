package dev.courier.protocol;

import io.netty.buffer.ByteBuf;

/**
 * A content header frame. {@code properties} is the raw property-flags-and-values bytes (a
 * retained slice), kept undecoded so the broker can forward them untouched; the receiver owns it.
 */
public record HeaderFrame(int channel, int classId, long bodySize, ByteBuf properties) implements Frame {
    /** Decodes the basic properties without consuming the raw bytes. */
    public BasicProperties decodeProperties() {
        return BasicProperties.decode(properties.duplicate());
    }
}
