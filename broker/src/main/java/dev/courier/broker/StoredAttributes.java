package dev.courier.broker;

/**
 * What a queue needs to rebuild a stored message's entry at start-up without reading the message,
 * packed into the store's opaque per-message {@code long} (see {@link
 * dev.courier.store.MessageStore#publish(long, long, io.netty.buffer.ByteBuf, io.netty.buffer.ByteBuf,
 * java.util.List)}):
 *
 * <pre>
 * bit  63      1 = set; 0 = unknown, recovery reads the message instead (a value did not fit)
 * bits 62..55  the message's priority property, 0-255 (absent = 0); each queue maps it to a level
 *              with its own x-max-priority
 * bit  54      the message has its own expiration property (per-message TTL)
 * bit  53      large: the stored body is a reference to a blob ({@code blobId:int64
 *              bodySize:int64}); meaningful also when bit 63 is 0 (then the rest is 0)
 * bits 52..12  expiry deadline in ms since 2020-01-01T00:00:00Z, 0 = never (41 bits: until September 2089):
 *              the publish time plus the smaller of the queue's x-message-ttl and the message's
 *              expiration, as every durable queue it was stored for computed it
 * bits 11..0   length of the stored header (publish time, exchange, routing key, properties), at
 *              most 4,095 bytes: the body is the store's stored bytes minus this
 * </pre>
 *
 * Bit 53 was the deadline's top bit before large messages: a message stored by an older version
 * with a deadline after September 2089 would now read as large (and be skipped as unreadable at start-up);
 * later deadlines are stored as unknown.
 *
 * <p>Recovery keeps the deadline as stored. A message later moved to another queue by {@code
 * moveTo} (which enters the same stored message there) keeps the deadline of its publish after a
 * restart; before this encoding it was recomputed from the publish time and the new queue's TTL.
 * Stateless; any thread.
 */
final class StoredAttributes {
    /** 2020-01-01T00:00:00Z in ms since the Unix epoch. */
    static final long EPOCH_MS = 1_577_836_800_000L;

    static final long SET = 1L << 63;
    private static final int PRIORITY_SHIFT = 55;
    private static final long PER_MESSAGE_TTL = 1L << 54;
    static final long LARGE = 1L << 53;
    private static final int DEADLINE_SHIFT = 12;
    private static final long MAX_DEADLINE = (1L << 41) - 1;
    static final int MAX_HEADER_BYTES = (1 << 12) - 1;

    private StoredAttributes() {}

    /**
     * Packs the attributes, or returns 0 (unknown) when a value does not fit.
     *
     * @param expiresAtMs the expiry deadline in ms since the Unix epoch, 0 for none, -1 when the
     *     durable queues the message goes to disagree on it
     */
    static long of(int priority, boolean perMessageTtl, long expiresAtMs, int headerBytes) {
        if (expiresAtMs < 0 || headerBytes < 0 || headerBytes > MAX_HEADER_BYTES) {
            return 0;
        }
        long deadline = 0;
        if (expiresAtMs > 0) {
            deadline = expiresAtMs - EPOCH_MS;
            if (deadline <= 0 || deadline > MAX_DEADLINE) {
                return 0;
            }
        }
        return SET
                | ((long) Math.max(0, Math.min(255, priority)) << PRIORITY_SHIFT)
                | (perMessageTtl ? PER_MESSAGE_TTL : 0)
                | (deadline << DEADLINE_SHIFT)
                | headerBytes;
    }

    /** Whether the stored body is a blob reference rather than the body. */
    static boolean isLarge(long attributes) {
        return (attributes & LARGE) != 0;
    }

    static boolean isSet(long attributes) {
        return (attributes & SET) != 0;
    }

    static int priority(long attributes) {
        return (int) ((attributes >>> PRIORITY_SHIFT) & 0xFF);
    }

    static boolean perMessageTtl(long attributes) {
        return (attributes & PER_MESSAGE_TTL) != 0;
    }

    /** The expiry deadline in ms since the Unix epoch, 0 for none. */
    static long expiresAtMs(long attributes) {
        long deadline = (attributes >>> DEADLINE_SHIFT) & MAX_DEADLINE;
        return deadline == 0 ? 0 : deadline + EPOCH_MS;
    }

    static int headerBytes(long attributes) {
        return (int) (attributes & MAX_HEADER_BYTES);
    }
}
