package dev.courier.store;

import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/** Constants and helpers of the on-disk format described in {@code package-info.java}. */
final class RecordFormat {
    static final int SEGMENT_MAGIC = 0x43525347; // "CRSG"
    /** 2: MESSAGE and RELOCATED records carry the caller's attributes (version 1 did not). */
    static final int SEGMENT_VERSION = 2;

    static final int SEGMENT_HEADER_BYTES = 16;

    /** length, lengthCheck, crc. */
    static final int FRAME_HEADER_BYTES = 12;

    static final int LENGTH_CHECK_MASK = 0x5BD1E995;

    static final byte MESSAGE = 1;
    static final byte RELOCATED = 2;
    static final byte ENQUEUE = 3;
    static final byte REMOVE = 4;
    static final byte DELIVERED = 5;
    static final byte QUEUE_CREATE = 6;
    static final byte QUEUE_DELETE = 7;
    static final byte QUEUE_PURGE = 8;
    static final byte META_PUT = 9;
    static final byte META_DELETE = 10;
    /** Starts a group of records that recovery applies all together or not at all. */
    static final byte TX_GROUP = 11;

    /** Bytes of a TX_GROUP record's frame: header, type, member count, members' bytes. */
    static final int TX_GROUP_BYTES = FRAME_HEADER_BYTES + 1 + 4 + 4;

    static final int MAX_QUEUES_PER_MESSAGE = 0xFFFF;

    private RecordFormat() {}

    static boolean validType(int type) {
        return type >= MESSAGE && type <= TX_GROUP;
    }

    /** A record's place in the log, ordered like the log: segment id high, offset low. */
    static long location(long segmentId, long offsetBytes) {
        return (segmentId << 32) | offsetBytes;
    }

    static long segmentOf(long location) {
        return location >>> 32;
    }

    static long offsetOf(long location) {
        return location & 0xFFFF_FFFFL;
    }

    static String describe(long location) {
        return "segment " + segmentOf(location) + " offset " + offsetOf(location);
    }

    /** Payload offset of a MESSAGE or RELOCATED record's attributes (after the message id). */
    static final int ATTRIBUTES_AT = 8;
    /** Payload offset of a MESSAGE or RELOCATED record's queue count. */
    static final int QUEUE_COUNT_AT = 16;

    /**
     * Bytes of a MESSAGE record's frame before its header bytes (a RELOCATED record is one with
     * no queue): the message's header and body are the record's last {@code recordBytes -
     * messagePrefixBytes(queueCount)} bytes.
     */
    static int messagePrefixBytes(int queueCount) {
        return FRAME_HEADER_BYTES + 1 + 8 + 8 + 2 + 4 * queueCount + 4;
    }

    /**
     * Completes the frame of a record whose type and payload were put at {@code start + 12} up to
     * {@code buffer.position()}: fills in length, check and CRC.
     */
    static void sealFrame(ByteBuffer buffer, int start, CRC32C crc) {
        int end = buffer.position();
        int length = end - start - FRAME_HEADER_BYTES;
        crc.reset();
        crc.update(buffer.slice(start + FRAME_HEADER_BYTES, length));
        buffer.putInt(start, length);
        buffer.putInt(start + 4, length ^ LENGTH_CHECK_MASK);
        buffer.putInt(start + 8, (int) crc.getValue());
    }

    /** Whether the CRC in the frame at {@code start} matches its {@code length} bytes of payload. */
    static boolean crcMatches(ByteBuffer buffer, int start, int length, CRC32C crc) {
        crc.reset();
        crc.update(buffer.slice(start + FRAME_HEADER_BYTES, length));
        return (int) crc.getValue() == buffer.getInt(start + 8);
    }
}
