package dev.courier.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.zip.CRC32C;

/**
 * Reads the records of one segment in order, verifying each frame and CRC. On damage it scans
 * forward byte by byte for the next valid frame (the length check word makes a false match at a
 * random position a 1 in 2^32 event before the CRC is even computed), so one bad record does not
 * hide the rest of the segment. Bytes that are zero from a position to the end are not damage but
 * the unwritten rest of a preallocated segment ({@link SegmentPreallocator}): the scan ends there
 * and {@link #zeroTailOffset()} says where. Single-threaded; used by recovery and the compactor.
 */
final class SegmentScanner {
    enum Result {
        RECORD,
        /** A damaged stretch was skipped; see {@link #damageOffset()} and {@link #resynced()}. */
        DAMAGE,
        END
    }

    private static final int INITIAL_WINDOW_BYTES = 1 << 20;

    private final FileChannel channel;
    private final long endOffset;
    private final CRC32C crc = new CRC32C();
    private ByteBuffer window = ByteBuffer.allocate(INITIAL_WINDOW_BYTES);
    private long windowStart;
    private int windowLength;
    private long position;

    private long recordOffset;
    private int recordLength;
    private long damageOffset;
    private boolean resynced;
    private long zeroTailOffset = -1;

    SegmentScanner(FileChannel channel, long startOffset, long endOffset) {
        this.channel = channel;
        this.position = startOffset;
        this.endOffset = endOffset;
    }

    Result next() throws IOException {
        if (position >= endOffset) {
            return Result.END;
        }
        int length = frameAt(position);
        if (length > 0) {
            recordOffset = position;
            recordLength = length;
            position += RecordFormat.FRAME_HEADER_BYTES + length;
            return Result.RECORD;
        }
        if (zeroFrom(position)) {
            zeroTailOffset = position;
            position = endOffset;
            return Result.END;
        }
        damageOffset = position;
        for (long candidate = position + 1; candidate + RecordFormat.FRAME_HEADER_BYTES + 1 <= endOffset; candidate++) {
            if (frameAt(candidate) > 0) {
                resynced = true;
                position = candidate;
                return Result.DAMAGE;
            }
        }
        resynced = false;
        position = endOffset;
        return Result.DAMAGE;
    }

    /** The length field of a valid frame at {@code offset}, or -1. */
    private int frameAt(long offset) throws IOException {
        if (!ensure(offset, RecordFormat.FRAME_HEADER_BYTES + 1)) {
            return -1;
        }
        int index = (int) (offset - windowStart);
        int length = window.getInt(index);
        if (length < 1
                || (length ^ RecordFormat.LENGTH_CHECK_MASK) != window.getInt(index + 4)
                || offset + RecordFormat.FRAME_HEADER_BYTES + length > endOffset
                || !RecordFormat.validType(window.get(index + RecordFormat.FRAME_HEADER_BYTES))) {
            return -1;
        }
        if (!ensure(offset, RecordFormat.FRAME_HEADER_BYTES + length)) {
            return -1;
        }
        index = (int) (offset - windowStart);
        return RecordFormat.crcMatches(window, index, length, crc) ? length : -1;
    }

    private boolean ensure(long offset, int bytes) throws IOException {
        if (offset + bytes > endOffset) {
            return false;
        }
        if (offset >= windowStart && offset + bytes <= windowStart + windowLength) {
            return true;
        }
        if (bytes > window.capacity()) {
            window = ByteBuffer.allocate(Math.max(bytes, window.capacity() * 2));
        }
        window.clear();
        window.limit((int) Math.min(window.capacity(), endOffset - offset));
        windowStart = offset;
        while (window.hasRemaining()) {
            if (channel.read(window, offset + window.position()) < 0) {
                break;
            }
        }
        windowLength = window.position();
        return windowLength >= bytes;
    }

    /** Whether every byte from {@code offset} to the end is zero. */
    private boolean zeroFrom(long offset) throws IOException {
        long at = offset;
        while (at < endOffset) {
            int bytes = (int) Math.min(window.capacity(), endOffset - at);
            if (!ensure(at, bytes)) {
                return false;
            }
            int index = (int) (at - windowStart);
            int end = index + bytes;
            for (; index + Long.BYTES <= end; index += Long.BYTES) {
                if (window.getLong(index) != 0) {
                    return false;
                }
            }
            for (; index < end; index++) {
                if (window.get(index) != 0) {
                    return false;
                }
            }
            at += bytes;
        }
        return true;
    }

    /**
     * Where the zero tail of a preallocated segment starts once the scan ended there, or -1: the
     * data of the segment ends at that offset.
     */
    long zeroTailOffset() {
        return zeroTailOffset;
    }

    /** Continues at {@code offset} (at most the end): the records in between are passed over. */
    void skipTo(long offset) {
        position = Math.min(offset, endOffset);
    }

    /** Offset of the record just returned. */
    long recordOffset() {
        return recordOffset;
    }

    /** Framed size of the record just returned. */
    int recordBytes() {
        return RecordFormat.FRAME_HEADER_BYTES + recordLength;
    }

    int type() {
        return window.get((int) (recordOffset - windowStart) + RecordFormat.FRAME_HEADER_BYTES);
    }

    /** The payload after the type byte; valid until the next call to {@link #next()}. */
    ByteBuffer payload() {
        int start = (int) (recordOffset - windowStart) + RecordFormat.FRAME_HEADER_BYTES + 1;
        return window.slice(start, recordLength - 1);
    }

    long damageOffset() {
        return damageOffset;
    }

    /** After {@link Result#DAMAGE}: whether a valid record follows the damage in this segment. */
    boolean resynced() {
        return resynced;
    }

    /** Where the next record would start: after DAMAGE, the resync point (or the end). */
    long position() {
        return position;
    }
}
