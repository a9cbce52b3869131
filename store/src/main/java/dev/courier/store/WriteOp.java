package dev.courier.store;

import io.netty.buffer.ByteBuf;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.zip.CRC32C;

/**
 * One request queued for the writer thread: the record it appends (if any), how it changes the
 * state once durable, and the future to complete. Created on the caller's thread, then owned by
 * whichever thread polls it from the writer's queue (normally the writer).
 */
abstract class WriteOp {
    final CompletableFuture<Void> future = new CompletableFuture<>();
    /** Set by the writer when encoded. */
    long location = -1;

    /** Not written (e.g. a publish whose message every queue removed within the same batch). */
    boolean cancelled;

    /** Bytes of the framed record, 0 for none. */
    abstract int encodedBytes();

    /** Puts the framed record at {@code out}'s position. */
    abstract void encode(ByteBuffer out, CRC32C crc);

    /** Changes the state after the record is durable; the write lock is held. */
    abstract void apply(StoreState state);

    /** Drops buffers this op holds; called exactly once, by its owner, after encode or on failure. */
    void releaseBuffers() {}

    private static int begin(ByteBuffer out, byte type) {
        int start = out.position();
        out.position(start + RecordFormat.FRAME_HEADER_BYTES);
        out.put(type);
        return start;
    }

    /** MESSAGE: a body stored once, entered on one or more queues. */
    static final class Publish extends WriteOp {
        final long messageId;
        final long attributes;
        final int[] queueIds;
        int queueCount;
        /** Another op in the batch refers to this message, so it must be written. */
        boolean pinned;

        private ByteBuf header;
        private ByteBuf body;
        private final int headerBytes;
        private final int bodyBytes;

        Publish(long messageId, long attributes, int[] queueIds, ByteBuf header, ByteBuf body) {
            this.messageId = messageId;
            this.attributes = attributes;
            this.queueIds = queueIds;
            this.queueCount = queueIds.length;
            this.header = header;
            this.body = body;
            this.headerBytes = header.readableBytes();
            this.bodyBytes = body.readableBytes();
        }

        @Override
        int encodedBytes() {
            return RecordFormat.messagePrefixBytes(queueCount) + headerBytes + bodyBytes;
        }

        @Override
        void encode(ByteBuffer out, CRC32C crc) {
            int start = begin(out, RecordFormat.MESSAGE);
            out.putLong(messageId);
            out.putLong(attributes);
            out.putShort((short) queueCount);
            for (int i = 0; i < queueCount; i++) {
                out.putInt(queueIds[i]);
            }
            out.putInt(headerBytes);
            putBytes(out, header, headerBytes);
            putBytes(out, body, bodyBytes);
            RecordFormat.sealFrame(out, start, crc);
        }

        private static void putBytes(ByteBuffer out, ByteBuf source, int length) {
            int limit = out.limit();
            out.limit(out.position() + length);
            source.getBytes(source.readerIndex(), out);
            out.limit(limit);
        }

        /** Removes a queue from a not yet written publish; true if it was there. */
        boolean cancelQueue(int queueId) {
            for (int i = 0; i < queueCount; i++) {
                if (queueIds[i] == queueId) {
                    queueIds[i] = queueIds[--queueCount];
                    return true;
                }
            }
            return false;
        }

        @Override
        void apply(StoreState state) {
            state.applyMessage(messageId, attributes, location, headerBytes + bodyBytes, queueIds, queueCount);
        }

        @Override
        void releaseBuffers() {
            if (header != null) {
                header.release();
                body.release();
                header = null;
                body = null;
            }
        }
    }

    /** ENQUEUE, REMOVE or DELIVERED for several messages of one queue. */
    static final class QueueEntries extends WriteOp {
        final byte type;
        final int queueId;
        final long[] messageIds;
        int count;

        QueueEntries(byte type, int queueId, long[] messageIds, int count) {
            this.type = type;
            this.queueId = queueId;
            this.messageIds = messageIds;
            this.count = count;
        }

        /** Drops the id at {@code index} (its publish was cancelled, so is this removal). */
        void drop(int index) {
            messageIds[index] = messageIds[--count];
        }

        @Override
        int encodedBytes() {
            return count == 0 ? 0 : RecordFormat.FRAME_HEADER_BYTES + 1 + 4 + 4 + 8 * count;
        }

        @Override
        void encode(ByteBuffer out, CRC32C crc) {
            int start = begin(out, type);
            out.putInt(queueId);
            out.putInt(count);
            for (int i = 0; i < count; i++) {
                out.putLong(messageIds[i]);
            }
            RecordFormat.sealFrame(out, start, crc);
        }

        @Override
        void apply(StoreState state) {
            for (int i = 0; i < count; i++) {
                switch (type) {
                    case RecordFormat.ENQUEUE -> state.applyEnqueue(queueId, messageIds[i]);
                    case RecordFormat.REMOVE -> state.applyRemove(queueId, messageIds[i]);
                    default -> state.applyDelivered(queueId, messageIds[i]);
                }
            }
        }
    }

    /** QUEUE_CREATE, QUEUE_DELETE or QUEUE_PURGE. */
    static final class QueueCommand extends WriteOp {
        final byte type;
        final int queueId;
        private final byte[] name;

        QueueCommand(byte type, int queueId, String name) {
            this.type = type;
            this.queueId = queueId;
            this.name = name == null ? new byte[0] : name.getBytes(StandardCharsets.UTF_8);
        }

        @Override
        int encodedBytes() {
            return RecordFormat.FRAME_HEADER_BYTES + 1 + 4 + name.length;
        }

        @Override
        void encode(ByteBuffer out, CRC32C crc) {
            int start = begin(out, type);
            out.putInt(queueId);
            out.put(name);
            RecordFormat.sealFrame(out, start, crc);
        }

        @Override
        void apply(StoreState state) {
            switch (type) {
                case RecordFormat.QUEUE_CREATE ->
                    state.applyQueueCreate(queueId, new String(name, StandardCharsets.UTF_8));
                case RecordFormat.QUEUE_DELETE -> state.applyQueueDelete(queueId);
                default -> state.applyQueuePurge(queueId);
            }
        }
    }

    /** META_PUT or (value null) META_DELETE. */
    static final class Metadata extends WriteOp {
        private final String key;
        private final byte[] keyBytes;
        private final byte[] value;

        Metadata(String key, byte[] value) {
            this.key = key;
            this.keyBytes = key.getBytes(StandardCharsets.UTF_8);
            this.value = value;
        }

        @Override
        int encodedBytes() {
            return value == null
                    ? RecordFormat.FRAME_HEADER_BYTES + 1 + keyBytes.length
                    : RecordFormat.FRAME_HEADER_BYTES + 1 + 4 + keyBytes.length + value.length;
        }

        @Override
        void encode(ByteBuffer out, CRC32C crc) {
            int start;
            if (value == null) {
                start = begin(out, RecordFormat.META_DELETE);
                out.put(keyBytes);
            } else {
                start = begin(out, RecordFormat.META_PUT);
                out.putInt(keyBytes.length);
                out.put(keyBytes);
                out.put(value);
            }
            RecordFormat.sealFrame(out, start, crc);
        }

        @Override
        void apply(StoreState state) {
            if (value == null) {
                state.applyMetadataDelete(key);
            } else {
                state.applyMetadataPut(key, value);
            }
        }
    }

    /** RELOCATED: compaction's copy of a live message; {@code content} is headerLength, header, body. */
    static final class Relocate extends WriteOp {
        final long messageId;
        final long attributes;
        final long fromLocation;
        private ByteBuf content;
        private final int contentBytes;

        Relocate(long messageId, long attributes, long fromLocation, ByteBuf content) {
            this.messageId = messageId;
            this.attributes = attributes;
            this.fromLocation = fromLocation;
            this.content = content;
            this.contentBytes = content.readableBytes();
        }

        @Override
        int encodedBytes() {
            return RecordFormat.messagePrefixBytes(0) - 4 + contentBytes;
        }

        @Override
        void encode(ByteBuffer out, CRC32C crc) {
            int start = begin(out, RecordFormat.RELOCATED);
            out.putLong(messageId);
            out.putLong(attributes);
            out.putShort((short) 0);
            int limit = out.limit();
            out.limit(out.position() + contentBytes);
            content.getBytes(content.readerIndex(), out);
            out.limit(limit);
            RecordFormat.sealFrame(out, start, crc);
        }

        @Override
        void apply(StoreState state) {
            state.applyRelocated(messageId, fromLocation, location, contentBytes - 4);
        }

        @Override
        void releaseBuffers() {
            if (content != null) {
                content.release();
                content = null;
            }
        }
    }

    /**
     * TX_GROUP: a record naming how many records follow and their bytes, then those records (a
     * transaction's publishes and removals), all written in one segment. Recovery applies the
     * members only if every one of them is intact.
     */
    static final class Group extends WriteOp {
        private final List<WriteOp> members;
        private final int memberBytes;

        Group(List<WriteOp> members) {
            this.members = members;
            int bytes = 0;
            for (WriteOp member : members) {
                bytes += member.encodedBytes();
            }
            this.memberBytes = bytes;
        }

        @Override
        int encodedBytes() {
            return RecordFormat.TX_GROUP_BYTES + memberBytes;
        }

        @Override
        void encode(ByteBuffer out, CRC32C crc) {
            int start = begin(out, RecordFormat.TX_GROUP);
            int written = 0;
            for (WriteOp member : members) {
                written += member.encodedBytes() == 0 ? 0 : 1;
            }
            out.putInt(written);
            out.putInt(memberBytes);
            RecordFormat.sealFrame(out, start, crc);
            for (WriteOp member : members) {
                if (member.encodedBytes() > 0) {
                    // members live at their own offsets in the same segment as the group record
                    member.location = location + (out.position() - start);
                    member.encode(out, crc);
                }
            }
        }

        @Override
        void apply(StoreState state) {
            for (WriteOp member : members) {
                member.apply(state);
            }
        }

        @Override
        void releaseBuffers() {
            for (WriteOp member : members) {
                member.releaseBuffers();
            }
        }
    }

    /**
     * No record: completes when everything submitted before it is durable ({@link
     * MessageStore#flush()}), or asks for a checkpoint.
     */
    static final class Barrier extends WriteOp {
        final boolean checkpoint;

        Barrier(boolean checkpoint) {
            this.checkpoint = checkpoint;
        }

        @Override
        int encodedBytes() {
            return 0;
        }

        @Override
        void encode(ByteBuffer out, CRC32C crc) {}

        @Override
        void apply(StoreState state) {}
    }
}
