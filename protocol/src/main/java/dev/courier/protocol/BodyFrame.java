package dev.courier.protocol;

import io.netty.buffer.ByteBuf;

/** A content body frame; {@code content} is a retained slice the receiver owns and must release. */
public record BodyFrame(int channel, ByteBuf content) implements Frame {}
