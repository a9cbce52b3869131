package dev.courier.server.amqp;

/** Test access to {@link Frames#release}. */
public final class FramesForTests {
    private FramesForTests() {}

    public static void release(Object frame) {
        Frames.release(frame);
    }
}
