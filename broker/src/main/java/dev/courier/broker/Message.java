package dev.courier.broker;

import dev.courier.protocol.BasicProperties;
import dev.courier.store.Blob;
import io.netty.buffer.ByteBuf;
import io.netty.util.AbstractReferenceCounted;
import io.netty.util.ReferenceCounted;

/**
 * A published message: exchange, routing key, the raw content-header properties (forwarded to
 * consumers untouched) and the body. Shared, never copied, by every queue it is routed to: each
 * holder owns one reference. Immutable apart from the reference count; thread-safe.
 *
 * <p>The body is either in memory ({@link #body()}) or, for a <em>large</em> message, a {@link
 * Blob} in the store's blob area ({@link #largeBody()}): then the message costs a few bytes of
 * heap wherever it is queued, and deliveries stream the body from the file.
 */
public final class Message extends AbstractReferenceCounted {
    private final String exchange;
    private final String routingKey;
    private final ByteBuf rawProperties;
    private final ByteBuf body;
    private final Blob largeBody;
    private volatile BasicProperties properties;

    /** Takes ownership of both buffers. */
    public Message(String exchange, String routingKey, ByteBuf rawProperties, ByteBuf body) {
        this.exchange = exchange;
        this.routingKey = routingKey;
        this.rawProperties = rawProperties;
        this.body = body;
        this.largeBody = null;
    }

    /** A large message whose body is {@code blob}; takes ownership of the buffer and the blob reference. */
    public Message(String exchange, String routingKey, ByteBuf rawProperties, Blob blob) {
        this.exchange = exchange;
        this.routingKey = routingKey;
        this.rawProperties = rawProperties;
        this.body = null;
        this.largeBody = blob;
    }

    /**
     * A message with the same body (shared, not copied) and other routing or properties, e.g. a
     * dead-lettered copy; takes ownership of {@code rawProperties}.
     */
    public Message withRouting(String exchange, String routingKey, ByteBuf rawProperties) {
        return largeBody != null
                ? new Message(exchange, routingKey, rawProperties, largeBody.retain())
                : new Message(exchange, routingKey, rawProperties, body.retain());
    }

    /**
     * This message with its properties and body copied into buffers of their own size; releases
     * this one, which the caller must hold alone. For a message that may sit in memory for long:
     * a transient one is never paged out. Received properties and bodies are slices of the
     * connection's read buffer, and Netty's adaptive allocator frees a chunk (a MiB or more) only
     * once every buffer cut from it is released, so a queued message holding slices pins all that
     * for a few bytes: measured, 16,148 bytes of direct memory per queued 4 KiB transient message,
     * 4,371 with the copy. A large message (its body a blob) is returned as it is.
     */
    public Message copiedOut() {
        if (largeBody != null) {
            return this;
        }
        Message copy = new Message(exchange, routingKey, rawProperties.copy(), body.copy());
        copy.properties = properties; // decoded already, if it was
        release();
        return copy;
    }

    public String exchange() {
        return exchange;
    }

    public String routingKey() {
        return routingKey;
    }

    /** The encoded properties (flags and values); do not consume or release. */
    public ByteBuf rawProperties() {
        return rawProperties;
    }

    /**
     * The in-memory body; do not consume or release.
     *
     * @throws IllegalStateException for a large message (see {@link #largeBody()})
     */
    public ByteBuf body() {
        if (body == null) {
            throw new IllegalStateException("the body of " + this + " is a blob, not in memory");
        }
        return body;
    }

    /** Whether the body is a blob in the store rather than in memory. */
    public boolean isLarge() {
        return largeBody != null;
    }

    /**
     * The blob holding a large message's body; do not release (retain it to keep it).
     *
     * @throws IllegalStateException for a message whose body is in memory
     */
    public Blob largeBody() {
        if (largeBody == null) {
            throw new IllegalStateException(this + " has its body in memory");
        }
        return largeBody;
    }

    public long bodySize() {
        return largeBody != null ? largeBody.sizeBytes() : body.readableBytes();
    }

    /** The decoded properties; decoded once on first use. */
    public BasicProperties properties() {
        BasicProperties decoded = properties;
        if (decoded == null) {
            // a benign race: two threads may both decode, and both get equal values
            decoded = rawProperties.readableBytes() == 0
                    ? BasicProperties.EMPTY
                    : BasicProperties.decode(rawProperties.duplicate());
            properties = decoded;
        }
        return decoded;
    }

    /** Property-flag bit of the expiration property (0-9-1: content-type is bit 15). */
    private static final int FLAG_EXPIRATION = 1 << 8;

    private static final int FLAG_DELIVERY_MODE = 1 << 12;

    private static final int FLAG_PRIORITY = 1 << 11;

    /**
     * The expiration property (a per-message TTL) in ms, or -1 when absent; a value that is not a
     * non-negative number (refused on publish) also counts as absent.
     */
    public long expirationMs() {
        if (!hasExpiration()) {
            return -1;
        }
        try {
            long ttl = Long.parseLong(properties().expiration());
            return ttl >= 0 ? ttl : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** Whether the message carries an expiration, read from the flags without decoding. */
    public boolean hasExpiration() {
        return (propertyFlags() & FLAG_EXPIRATION) != 0;
    }

    /** Whether the message carries a priority, read from the flags without decoding. */
    public boolean hasPriority() {
        return (propertyFlags() & FLAG_PRIORITY) != 0;
    }

    private int propertyFlags() {
        return rawProperties.readableBytes() >= 2 ? rawProperties.getUnsignedShort(rawProperties.readerIndex()) : 0;
    }

    /** True for delivery mode 2. */
    public boolean persistent() {
        if ((propertyFlags() & FLAG_DELIVERY_MODE) == 0) {
            return false; // no delivery mode: transient, and nothing to decode
        }
        Integer mode = properties().deliveryMode();
        return mode != null && mode == 2;
    }

    @Override
    public Message retain() {
        super.retain();
        return this;
    }

    @Override
    public ReferenceCounted touch(Object hint) {
        return this;
    }

    @Override
    protected void deallocate() {
        rawProperties.release();
        if (largeBody != null) {
            largeBody.release();
        } else {
            body.release();
        }
    }

    @Override
    public String toString() {
        return "Message[exchange=" + exchange + ", routingKey=" + routingKey + ", bodySize=" + bodySize()
                + (largeBody != null ? ", blob=" + largeBody.id() : "") + "]";
    }
}
