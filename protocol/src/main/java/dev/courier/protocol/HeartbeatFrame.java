package dev.courier.protocol;

/** A heartbeat frame (always on channel 0). */
public record HeartbeatFrame(int channel) implements Frame {
    /** The only heartbeat there is. */
    public static final HeartbeatFrame INSTANCE = new HeartbeatFrame(0);
}
