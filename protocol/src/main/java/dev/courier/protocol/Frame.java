package dev.courier.protocol;

/**
 * One AMQP frame as read by {@link FrameReader}. Header and body frames hold reference-counted
 * buffers that the receiver owns and must release (or pass on).
 */
public sealed interface Frame permits MethodFrame, HeaderFrame, BodyFrame, HeartbeatFrame {
    /** The channel number (0 for connection-level frames and heartbeats). */
    int channel();
}
