package dev.courier.store;

import io.netty.buffer.ByteBuf;

/**
 * A message read back from disk by {@link MessageStore#read(long)}. The caller owns one reference
 * to {@link #header()} and one to {@link #body()} (both pooled); release them, or pass their
 * ownership on, e.g. with {@link #release()}.
 *
 * @param messageId the id given at publish
 * @param header the opaque header bytes given at publish
 * @param body the body bytes given at publish
 */
public record StoredMessage(long messageId, ByteBuf header, ByteBuf body) {
    /** Releases both buffers. */
    public void release() {
        header.release();
        body.release();
    }
}
