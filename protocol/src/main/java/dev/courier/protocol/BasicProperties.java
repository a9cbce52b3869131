package dev.courier.protocol;

import static dev.courier.protocol.AmqpConstants.SYNTAX_ERROR;

import io.netty.buffer.ByteBuf;
import java.time.Instant;
import java.util.Map;

/**
 * The 14 content properties of the basic class (0-9-1 §4.2.6.1 / spec class "basic"); every
 * component is nullable (absent). Immutable and thread-safe.
 *
 * <p>On the wire: 16 property-flag bits (bit 15 = content-type … bit 2 = cluster-id; bit 0 set
 * means another flag word follows), then the present values in order.
 */
public record BasicProperties(
        String contentType,
        String contentEncoding,
        Map<String, Object> headers,
        Integer deliveryMode,
        Integer priority,
        String correlationId,
        String replyTo,
        String expiration,
        String messageId,
        Instant timestamp,
        String type,
        String userId,
        String appId,
        String clusterId) {

    /** No property set. */
    public static final BasicProperties EMPTY =
            new BasicProperties(null, null, null, null, null, null, null, null, null, null, null, null, null, null);

    /** Decodes flags and values; throws {@link ProtocolException} 502 on malformed input. */
    public static BasicProperties decode(ByteBuf in) {
        try {
            int flags = in.readUnsignedShort();
            int more = flags;
            while ((more & 1) != 0) {
                // flag continuation: later words name properties 0-9-1 does not define; skip them
                more = in.readUnsignedShort();
            }
            return new BasicProperties(
                    (flags & (1 << 15)) != 0 ? Codec.readShortString(in) : null,
                    (flags & (1 << 14)) != 0 ? Codec.readShortString(in) : null,
                    (flags & (1 << 13)) != 0 ? FieldTables.read(in) : null,
                    (flags & (1 << 12)) != 0 ? (Integer) (int) in.readUnsignedByte() : null,
                    (flags & (1 << 11)) != 0 ? (Integer) (int) in.readUnsignedByte() : null,
                    (flags & (1 << 10)) != 0 ? Codec.readShortString(in) : null,
                    (flags & (1 << 9)) != 0 ? Codec.readShortString(in) : null,
                    (flags & (1 << 8)) != 0 ? Codec.readShortString(in) : null,
                    (flags & (1 << 7)) != 0 ? Codec.readShortString(in) : null,
                    (flags & (1 << 6)) != 0 ? Codec.readTimestamp(in) : null,
                    (flags & (1 << 5)) != 0 ? Codec.readShortString(in) : null,
                    (flags & (1 << 4)) != 0 ? Codec.readShortString(in) : null,
                    (flags & (1 << 3)) != 0 ? Codec.readShortString(in) : null,
                    (flags & (1 << 2)) != 0 ? Codec.readShortString(in) : null);
        } catch (IndexOutOfBoundsException e) {
            throw new ProtocolException(SYNTAX_ERROR, "truncated content header properties");
        }
    }

    /** Writes flags and the present values. */
    public void encode(ByteBuf out) {
        int flags = 0;
        flags |= contentType != null ? 1 << 15 : 0;
        flags |= contentEncoding != null ? 1 << 14 : 0;
        flags |= headers != null ? 1 << 13 : 0;
        flags |= deliveryMode != null ? 1 << 12 : 0;
        flags |= priority != null ? 1 << 11 : 0;
        flags |= correlationId != null ? 1 << 10 : 0;
        flags |= replyTo != null ? 1 << 9 : 0;
        flags |= expiration != null ? 1 << 8 : 0;
        flags |= messageId != null ? 1 << 7 : 0;
        flags |= timestamp != null ? 1 << 6 : 0;
        flags |= type != null ? 1 << 5 : 0;
        flags |= userId != null ? 1 << 4 : 0;
        flags |= appId != null ? 1 << 3 : 0;
        flags |= clusterId != null ? 1 << 2 : 0;
        out.writeShort(flags);
        writeIfSet(out, contentType);
        writeIfSet(out, contentEncoding);
        if (headers != null) {
            FieldTables.write(out, headers);
        }
        if (deliveryMode != null) {
            out.writeByte(deliveryMode);
        }
        if (priority != null) {
            out.writeByte(priority);
        }
        writeIfSet(out, correlationId);
        writeIfSet(out, replyTo);
        writeIfSet(out, expiration);
        writeIfSet(out, messageId);
        if (timestamp != null) {
            out.writeLong(timestamp.getEpochSecond());
        }
        writeIfSet(out, type);
        writeIfSet(out, userId);
        writeIfSet(out, appId);
        writeIfSet(out, clusterId);
    }

    private static void writeIfSet(ByteBuf out, String value) {
        if (value != null) {
            Codec.writeShortString(out, value);
        }
    }

    /** A copy with other headers (null removes the headers property). */
    public BasicProperties withHeaders(Map<String, Object> value) {
        return new BasicProperties(
                contentType,
                contentEncoding,
                value,
                deliveryMode,
                priority,
                correlationId,
                replyTo,
                expiration,
                messageId,
                timestamp,
                type,
                userId,
                appId,
                clusterId);
    }

    /** A copy with another expiration (null removes it). */
    public BasicProperties withExpiration(String value) {
        return new BasicProperties(
                contentType,
                contentEncoding,
                headers,
                deliveryMode,
                priority,
                correlationId,
                replyTo,
                value,
                messageId,
                timestamp,
                type,
                userId,
                appId,
                clusterId);
    }

    /** A copy with another reply-to (null removes it). */
    public BasicProperties withReplyTo(String value) {
        return new BasicProperties(
                contentType,
                contentEncoding,
                headers,
                deliveryMode,
                priority,
                correlationId,
                value,
                expiration,
                messageId,
                timestamp,
                type,
                userId,
                appId,
                clusterId);
    }
}
