package dev.courier.protocol;

/** A method frame, decoded. Holds no buffers. */
public record MethodFrame(int channel, Method method) implements Frame {}
