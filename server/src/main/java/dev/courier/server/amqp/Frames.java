package dev.courier.server.amqp;

import dev.courier.protocol.BodyFrame;
import dev.courier.protocol.HeaderFrame;

/** Releases the buffers a frame holds. */
final class Frames {
    private Frames() {}

    static void release(Object frame) {
        if (frame instanceof HeaderFrame header) {
            header.properties().release();
        } else if (frame instanceof BodyFrame body) {
            body.content().release();
        }
    }
}
