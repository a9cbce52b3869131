package dev.courier.store;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Copies the live messages out of a mostly dead sealed segment so the segment can be deleted.
 * Runs on the compactor thread: it scans the segment, asks the index (read lock) which message
 * records are still live there, and submits each as a RELOCATED record through the ordinary
 * writer queue, a bounded number of bytes at a time. Appends are never stalled: relocations are
 * just more records in the writer's batches. When the writer applies a relocation it checks the
 * message is still live at the old place, so a message acked meanwhile is not resurrected.
 */
final class Compactor {
    private static final Logger LOG = LoggerFactory.getLogger(Compactor.class);
    private static final long MAX_BYTES_IN_FLIGHT = 1 << 20;

    private final StoreState state;
    private final LogWriter writer;

    Compactor(StoreState state, LogWriter writer) {
        this.state = state;
        this.writer = writer;
    }

    /** Relocates the live messages of {@code segment}; returns how many were submitted. */
    long compact(Segment segment, long sizeBytes) throws IOException {
        SegmentScanner scanner = new SegmentScanner(segment.channel, RecordFormat.SEGMENT_HEADER_BYTES, sizeBytes);
        List<CompletableFuture<Void>> inFlight = new ArrayList<>();
        long bytesInFlight = 0;
        long relocated = 0;
        SegmentScanner.Result result;
        while ((result = scanner.next()) != SegmentScanner.Result.END) {
            if (result != SegmentScanner.Result.RECORD
                    || (scanner.type() != RecordFormat.MESSAGE && scanner.type() != RecordFormat.RELOCATED)) {
                continue;
            }
            ByteBuffer payload = scanner.payload();
            long messageId = payload.getLong(0);
            long location = RecordFormat.location(segment.id, scanner.recordOffset());
            boolean live;
            state.lock.readLock().lock();
            try {
                live = state.isLiveAt(messageId, location);
            } finally {
                state.lock.readLock().unlock();
            }
            if (!live) {
                continue;
            }
            long attributes = payload.getLong(RecordFormat.ATTRIBUTES_AT);
            int queueCount = Short.toUnsignedInt(payload.getShort(RecordFormat.QUEUE_COUNT_AT));
            int contentStart = RecordFormat.QUEUE_COUNT_AT + 2 + 4 * queueCount;
            int contentBytes = payload.remaining() - contentStart;
            ByteBuf content = PooledByteBufAllocator.DEFAULT.heapBuffer(contentBytes);
            content.writeBytes(payload.slice(contentStart, contentBytes));
            WriteOp.Relocate op = new WriteOp.Relocate(messageId, attributes, location, content);
            writer.submit(op);
            inFlight.add(op.future);
            relocated++;
            bytesInFlight += contentBytes;
            if (bytesInFlight >= MAX_BYTES_IN_FLIGHT) {
                awaitAll(inFlight);
                bytesInFlight = 0;
            }
        }
        awaitAll(inFlight);
        LOG.debug("Compacted segment {}: {} live message(s) relocated", segment.id, relocated);
        return relocated;
    }

    private static void awaitAll(List<CompletableFuture<Void>> futures) {
        // throws (ending this compaction) if the store failed or closed meanwhile
        CompletableFuture.allOf(futures.toArray(new CompletableFuture<?>[0])).join();
        futures.clear();
    }
}
