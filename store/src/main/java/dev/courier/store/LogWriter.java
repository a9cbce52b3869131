package dev.courier.store;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntSupplier;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The single writer of the log. Callers {@link #submit} ops from any thread; the writer thread
 * drains everything queued (up to {@code maxBatchBytes}) into one buffer, writes it with one
 * positional write loop and one {@code force(false)}, applies the ops to the {@link StoreState},
 * and hands their futures to the completer thread. Records that arrive meanwhile form the next
 * batch: that is the group commit.
 *
 * <p>The writer also starts checkpoints (captured on its thread, written on the maintenance
 * thread), deletes dead segments once a checkpoint covers them, and starts compactions. Any
 * exception while writing fails the store for good: see {@link #fail}.
 */
final class LogWriter implements Runnable {
    private static final Logger LOG = LoggerFactory.getLogger(LogWriter.class);

    private final Path directory;
    private final StoreConfig config;
    private final ChannelFactory channels;
    private final StoreState state;
    private final ExecutorService completer;
    private final ExecutorService maintenance;
    private final ExecutorService compactorThread;
    private final Compactor compactor;
    /** Null when {@link StoreConfig#preallocateSegments()} is off. */
    private final SegmentPreallocator preallocator;

    private final ConcurrentLinkedQueue<WriteOp> queue = new ConcurrentLinkedQueue<>();
    private final Thread thread;
    private final ByteBuffer buffer;
    private final CRC32C crc = new CRC32C();
    private final Map<Long, WriteOp.Publish> pendingPublishes = new HashMap<>();
    private final AtomicReference<CheckpointDone> completedCheckpoint = new AtomicReference<>();

    private volatile boolean parked;
    private volatile boolean closing;
    private volatile StoreFailedException terminal;
    private volatile boolean writerFailed;
    private volatile boolean compactionRunning;
    /** Position after the last applied batch (segment id high, offset low). */
    private volatile long appliedPosition;

    // writer-thread state
    private Segment active;
    private long activeEndBytes;
    private boolean dirty;
    private long lastForceNs;
    private long bytesSinceCheckpoint;
    private long lastCheckpointBytes;
    private boolean checkpointInFlight;
    private boolean checkpointRequested;
    private List<WriteOp> checkpointWaiters = new ArrayList<>();
    private long batchCount;
    private final IntSupplier nextQueueId;

    // counters: written only by the writer thread (and the maintenance thread for segment
    // deletions it is told to do), read by anyone through stats()
    volatile long batchesWritten;
    volatile long forces;
    /** Time spent in fsync, in nanoseconds (average latency = forceNanos / forces). */
    volatile long forceNanos;

    volatile long recordsWritten;
    volatile long recordsCancelled;
    volatile long bytesWritten;
    volatile long checkpointsWritten;
    volatile long segmentsDeleted;
    volatile long messagesRelocated;

    LogWriter(
            Path directory,
            StoreConfig config,
            ChannelFactory channels,
            StoreState state,
            long firstSegmentId,
            long initialBytesSinceCheckpoint,
            IntSupplier nextQueueId)
            throws IOException {
        this.directory = directory;
        this.config = config;
        this.channels = channels;
        this.state = state;
        this.nextQueueId = nextQueueId;
        this.bytesSinceCheckpoint = initialBytesSinceCheckpoint;
        this.buffer = ByteBuffer.allocateDirect(config.maxBatchBytes());
        String name = directory.getFileName() == null
                ? "store"
                : directory.getFileName().toString();
        this.completer = StoreThreads.single("courier-store-completer-" + name);
        this.maintenance = StoreThreads.single("courier-store-maintenance-" + name);
        this.compactorThread = StoreThreads.single("courier-store-compactor-" + name);
        this.compactor = new Compactor(state, this);
        if (config.preallocateSegments()) {
            this.preallocator = new SegmentPreallocator(directory, config.segmentSizeBytes(), channels, maintenance);
            preallocator.start();
        } else {
            this.preallocator = null;
            SegmentPreallocator.deleteSpares(directory);
        }
        openSegment(firstSegmentId);
        this.appliedPosition = RecordFormat.location(active.id, activeEndBytes);
        this.thread = new Thread(this, "courier-store-writer-" + name);
        this.thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    /** Queues an op for the writer; never blocks. The op's future reports the outcome. */
    void submit(WriteOp op) {
        StoreFailedException failure = terminal;
        if (failure != null || closing) {
            op.releaseBuffers();
            op.future.completeExceptionally(failure != null ? failure : closedException());
            return;
        }
        queue.offer(op);
        if (parked) {
            LockSupport.unpark(thread);
        }
        if (terminal != null) {
            // the writer may have drained its queue for the last time before our offer
            drainAndFail();
        }
    }

    private StoreFailedException closedException() {
        return new StoreFailedException("Store " + directory + " is closed");
    }

    boolean failed() {
        return writerFailed;
    }

    long segmentsPreallocated() {
        return preallocator == null ? 0 : preallocator.sparesUsed;
    }

    long appliedPosition() {
        return appliedPosition;
    }

    /** Stops accepting writes, writes what was queued, checkpoints and waits for the threads. */
    void close() throws InterruptedException {
        closing = true;
        LockSupport.unpark(thread);
        thread.join();
        if (writerFailed) {
            // the writer failed and exited without its shutdown: release the files here
            closeSegments();
        }
        completer.shutdown();
        completer.awaitTermination(1, TimeUnit.MINUTES);
    }

    @Override
    public void run() {
        List<WriteOp> batch = new ArrayList<>();
        try {
            while (true) {
                housekeeping();
                drain(batch);
                if (!batch.isEmpty()) {
                    processBatch(batch);
                    batch = new ArrayList<>();
                } else if (closing) {
                    break;
                } else {
                    idle();
                }
            }
            terminal = closedException();
            drainAndFail();
            shutdown();
        } catch (Throwable t) {
            fail(t, batch);
        }
    }

    private void drain(List<WriteOp> batch) {
        long batchBytes = 0;
        WriteOp op;
        while (batchBytes < config.maxBatchBytes() && (op = queue.poll()) != null) {
            batch.add(op);
            batchBytes += op.encodedBytes();
        }
    }

    private void idle() throws IOException {
        parked = true;
        try {
            if (!queue.isEmpty() || closing || completedCheckpoint.get() != null) {
                return;
            }
            if (dirty) {
                // BATCH policy: data written but not yet forced; force when the interval is up
                long dueNs = lastForceNs + TimeUnit.MILLISECONDS.toNanos(config.batchIntervalMs());
                long waitNs = dueNs - System.nanoTime();
                if (waitNs <= 0) {
                    force();
                } else {
                    LockSupport.parkNanos(this, waitNs);
                }
            } else {
                LockSupport.park(this);
            }
        } finally {
            parked = false;
        }
    }

    private void processBatch(List<WriteOp> batch) throws IOException {
        cancelAckedPublishes(batch);
        long written = 0;
        for (WriteOp op : batch) {
            int size = op.cancelled ? 0 : op.encodedBytes();
            if (size == 0) {
                op.releaseBuffers();
                continue;
            }
            long used = activeEndBytes + buffer.position();
            if (used + size > config.segmentSizeBytes() && used > RecordFormat.SEGMENT_HEADER_BYTES) {
                written += flushBuffer();
                force();
                rollSegment();
            }
            if (size > buffer.remaining()) {
                written += flushBuffer();
            }
            op.location = RecordFormat.location(active.id, activeEndBytes + buffer.position());
            if (size > buffer.capacity()) {
                written += writeLargeRecord(op, size);
            } else {
                op.encode(buffer, crc);
            }
            op.releaseBuffers();
            recordsWritten++;
        }
        written += flushBuffer();
        if (preallocator != null) {
            preallocator.fillWhenDue(activeEndBytes);
        }
        if (config.fsyncPolicy() == StoreConfig.FsyncPolicy.ALWAYS
                || System.nanoTime() - lastForceNs >= TimeUnit.MILLISECONDS.toNanos(config.batchIntervalMs())) {
            force();
        }
        state.lock.writeLock().lock();
        try {
            for (WriteOp op : batch) {
                if (!op.cancelled) {
                    op.apply(state);
                }
            }
        } finally {
            state.lock.writeLock().unlock();
        }
        appliedPosition = RecordFormat.location(active.id, activeEndBytes);
        bytesSinceCheckpoint += written;
        if (written > 0) {
            batchesWritten++;
        }
        batchCount++;
        List<WriteOp> done = new ArrayList<>(batch.size());
        for (WriteOp op : batch) {
            if (op instanceof WriteOp.Barrier barrier && barrier.checkpoint) {
                checkpointWaiters.add(op);
                checkpointRequested = true;
            } else {
                done.add(op);
            }
        }
        completer.execute(() -> {
            for (WriteOp op : done) {
                op.future.complete(null);
            }
        });
        // the batch is now owned by the completer: fail() must not touch it
        batch.clear();
    }

    /**
     * A publish removed from all its queues before its batch was written need not be written:
     * drop it and the removals (ack, reject, expiry) that cancel it. Publishes that another op
     * in the batch enqueues elsewhere are kept.
     */
    private void cancelAckedPublishes(List<WriteOp> batch) {
        boolean hasPublish = false;
        boolean hasRemove = false;
        for (WriteOp op : batch) {
            hasPublish |= op instanceof WriteOp.Publish;
            hasRemove |= op instanceof WriteOp.QueueEntries e && e.type == RecordFormat.REMOVE;
        }
        if (!hasPublish || !hasRemove) {
            return;
        }
        pendingPublishes.clear();
        for (WriteOp op : batch) {
            if (op instanceof WriteOp.Publish publish) {
                pendingPublishes.put(publish.messageId, publish);
            } else if (op instanceof WriteOp.QueueEntries entries) {
                for (int i = entries.count - 1; i >= 0; i--) {
                    WriteOp.Publish publish = pendingPublishes.get(entries.messageIds[i]);
                    if (publish == null) {
                        continue;
                    }
                    if (entries.type == RecordFormat.ENQUEUE) {
                        publish.pinned = true;
                    } else if (entries.type == RecordFormat.REMOVE
                            && !publish.pinned
                            && publish.cancelQueue(entries.queueId)) {
                        entries.drop(i);
                        if (publish.queueCount == 0) {
                            publish.cancelled = true;
                            pendingPublishes.remove(publish.messageId);
                            recordsCancelled++;
                        }
                    }
                }
            }
        }
        pendingPublishes.clear();
    }

    private long flushBuffer() throws IOException {
        buffer.flip();
        long written = buffer.remaining();
        while (buffer.hasRemaining()) {
            activeEndBytes += active.channel.write(buffer, activeEndBytes);
        }
        buffer.clear();
        if (written > 0) {
            active.sizeBytes = activeEndBytes;
            dirty = true;
            bytesWritten += written;
        }
        return written;
    }

    private long writeLargeRecord(WriteOp op, int size) throws IOException {
        ByteBuf large = PooledByteBufAllocator.DEFAULT.directBuffer(size);
        try {
            ByteBuffer view = large.nioBuffer(0, size);
            op.encode(view, crc);
            view.flip();
            while (view.hasRemaining()) {
                activeEndBytes += active.channel.write(view, activeEndBytes);
            }
        } finally {
            large.release();
        }
        active.sizeBytes = activeEndBytes;
        dirty = true;
        bytesWritten += size;
        return size;
    }

    private void force() throws IOException {
        if (dirty) {
            long startNs = System.nanoTime();
            active.channel.force(false);
            forceNanos += System.nanoTime() - startNs;
            forces++;
            dirty = false;
        }
        lastForceNs = System.nanoTime();
    }

    private void rollSegment() throws IOException {
        Segment sealed = active;
        if (sealed.liveMessages == 0) {
            state.segmentDied = true;
        }
        cutZeroTail();
        openSegment(sealed.id + 1);
        LOG.debug("Sealed segment {} at {} bytes, started segment {}", sealed.id, sealed.sizeBytes, active.id);
    }

    /**
     * A preallocated active segment is longer than its data: cut it to its data once no more is
     * written to it (sealing, closing). Not forced: a crash that loses the cut leaves a zero tail,
     * which recovery and the scanner read as the end of the data.
     */
    private void cutZeroTail() throws IOException {
        if (active.channel.size() > activeEndBytes) {
            active.channel.truncate(activeEndBytes);
        }
    }

    private void openSegment(long segmentId) throws IOException {
        Path path = directory.resolve(Segment.fileName(segmentId));
        boolean preallocated = preallocator != null && preallocator.takeSpare(path);
        FileChannel channel = channels.open(
                path,
                preallocated
                        ? Set.of(StandardOpenOption.READ, StandardOpenOption.WRITE)
                        : Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.READ, StandardOpenOption.WRITE));
        Segment segment = new Segment(segmentId, path, channel, RecordFormat.SEGMENT_HEADER_BYTES);
        try {
            ByteBuffer header = ByteBuffer.allocate(RecordFormat.SEGMENT_HEADER_BYTES);
            header.putInt(RecordFormat.SEGMENT_MAGIC)
                    .putInt(RecordFormat.SEGMENT_VERSION)
                    .putLong(segmentId)
                    .flip();
            long position = 0;
            while (header.hasRemaining()) {
                position += channel.write(header, position);
            }
            channel.force(false);
            // the new file's directory entry must be durable before anything in it is confirmed
            StoreFiles.fsyncDirectory(directory, channels);
        } catch (IOException e) {
            segment.release();
            throw e;
        }
        state.lock.writeLock().lock();
        try {
            state.segments.put(segmentId, segment);
            state.activeSegmentId = segmentId;
        } finally {
            state.lock.writeLock().unlock();
        }
        active = segment;
        activeEndBytes = RecordFormat.SEGMENT_HEADER_BYTES;
    }

    // ---- checkpoints, segment deletion, compaction -------------------------------------------

    private record CheckpointDone(Checkpoint.Data data, long fileBytes, List<WriteOp> waiters, Throwable error) {}

    private void housekeeping() throws IOException {
        CheckpointDone done = completedCheckpoint.getAndSet(null);
        if (done != null) {
            onCheckpointDone(done);
        }
        long thresholdBytes = Math.max(config.checkpointIntervalBytes(), 2 * lastCheckpointBytes);
        boolean automatic = config.checkpointIntervalBytes() > 0
                && (bytesSinceCheckpoint >= thresholdBytes
                        || (state.segmentDied
                                && bytesSinceCheckpoint > 0
                                && bytesSinceCheckpoint >= lastCheckpointBytes));
        if (!checkpointInFlight && (checkpointRequested || automatic)) {
            startCheckpoint();
        }
        // look for a compaction candidate every 16 batches, and whenever the writer is idle
        if (config.compactionLiveRatio() > 0 && !compactionRunning && ((batchCount & 15) == 0 || queue.isEmpty())) {
            startCompactionIfUseful();
        }
    }

    private void startCheckpoint() throws IOException {
        // a checkpoint may only describe forced data: under BATCH the tail may not be yet
        force();
        Checkpoint.Data data =
                Checkpoint.capture(state, RecordFormat.location(active.id, activeEndBytes), nextQueueId.getAsInt());
        List<WriteOp> waiters = checkpointWaiters;
        checkpointWaiters = new ArrayList<>();
        checkpointRequested = false;
        checkpointInFlight = true;
        state.segmentDied = false;
        bytesSinceCheckpoint = 0;
        maintenance.execute(() -> {
            CheckpointDone result;
            try {
                long bytes = Checkpoint.write(directory, data, channels);
                result = new CheckpointDone(data, bytes, waiters, null);
            } catch (Throwable e) {
                result = new CheckpointDone(data, 0, waiters, e);
            }
            completedCheckpoint.set(result);
            LockSupport.unpark(thread);
        });
    }

    private void onCheckpointDone(CheckpointDone done) {
        checkpointInFlight = false;
        if (done.error() != null) {
            // the log is intact, only start-up gets slower: keep running, retry at the next trigger
            LOG.error("Writing a checkpoint in {} failed", directory, done.error());
            for (WriteOp waiter : done.waiters()) {
                waiter.future.completeExceptionally(done.error());
            }
            return;
        }
        lastCheckpointBytes = done.fileBytes();
        checkpointsWritten++;
        deleteSegmentsCoveredBy(done.data());
        List<WriteOp> waiters = done.waiters();
        completer.execute(() -> waiters.forEach(w -> w.future.complete(null)));
    }

    /** Segments before the checkpoint that it records with no live message are never needed again. */
    private void deleteSegmentsCoveredBy(Checkpoint.Data data) {
        long checkpointSegment = RecordFormat.segmentOf(data.position());
        List<Segment> dead = new ArrayList<>();
        long[] stats = data.segmentStats();
        for (int i = 0; i < stats.length; i += 3) {
            long segmentId = stats[i];
            Segment segment = state.segments.get(segmentId);
            // live counts of sealed segments never grow, so zero then means zero now
            if (segmentId < checkpointSegment && stats[i + 1] == 0 && segment != null && segment.liveMessages == 0) {
                dead.add(segment);
            }
        }
        if (dead.isEmpty()) {
            return;
        }
        state.lock.writeLock().lock();
        try {
            for (Segment segment : dead) {
                state.segments.remove(segment.id);
            }
        } finally {
            state.lock.writeLock().unlock();
        }
        segmentsDeleted += dead.size();
        Runnable deletion = () -> {
            for (Segment segment : dead) {
                segment.delete();
            }
            LOG.debug("Deleted {} dead segment(s) in {}", dead.size(), directory);
        };
        if (maintenance.isShutdown()) {
            deletion.run(); // closing: the maintenance thread is gone
        } else {
            maintenance.execute(deletion);
        }
    }

    private void startCompactionIfUseful() {
        Segment best = null;
        double bestRatio = config.compactionLiveRatio();
        for (Segment segment : state.segments.headMap(active.id, false).values()) {
            if (segment.totalMessages > 0 && segment.liveMessages > 0) {
                double ratio = (double) segment.liveMessages / segment.totalMessages;
                if (ratio < bestRatio) {
                    best = segment;
                    bestRatio = ratio;
                }
            }
        }
        if (best == null || !best.retain()) {
            return;
        }
        Segment target = best;
        long sizeBytes = target.sizeBytes;
        compactionRunning = true;
        compactorThread.execute(() -> {
            try {
                messagesRelocated += compactor.compact(target, sizeBytes);
            } catch (CompletionException e) {
                // the store closed or failed while relocations were queued: nothing to report here
                LOG.debug(
                        "Compaction of segment {} in {} stopped: {}",
                        target.id,
                        directory,
                        e.getCause().toString());
            } catch (Throwable e) {
                LOG.warn("Compacting segment {} in {} failed", target.id, directory, e);
            } finally {
                target.release();
                compactionRunning = false;
                LockSupport.unpark(thread);
            }
        });
    }

    // ---- shutdown and failure ------------------------------------------------------------------

    private void shutdown() throws Exception {
        compactorThread.shutdown();
        compactorThread.awaitTermination(1, TimeUnit.MINUTES);
        maintenance.shutdown();
        maintenance.awaitTermination(1, TimeUnit.MINUTES);
        CheckpointDone done = completedCheckpoint.getAndSet(null);
        if (done != null) {
            onCheckpointDone(done);
        }
        force();
        // a final checkpoint makes the next open replay nothing
        Checkpoint.Data data =
                Checkpoint.capture(state, RecordFormat.location(active.id, activeEndBytes), nextQueueId.getAsInt());
        Checkpoint.write(directory, data, channels);
        checkpointsWritten++;
        cutZeroTail();
        failWaiters(checkpointWaiters, closedException());
        closeSegments();
    }

    private void closeSegments() {
        state.lock.writeLock().lock();
        try {
            for (Segment segment : state.segments.values()) {
                segment.release();
            }
            state.segments.clear();
        } finally {
            state.lock.writeLock().unlock();
        }
    }

    /**
     * A write, force or roll failed: nothing in this batch or after it is reported durable.
     * Every queued and later op fails with the same {@link StoreFailedException}; reads of what
     * was durable before keep working. Like Aeron's RecordingWriter, the store does not limp on
     * after an I/O error (an fsync error may have dropped dirty pages: retrying could confirm lost
     * data).
     */
    private void fail(Throwable cause, List<WriteOp> batch) {
        StoreFailedException failure = new StoreFailedException(
                "Store " + directory + " stopped accepting writes after a failure in " + active + ": " + cause, cause);
        terminal = failure;
        writerFailed = true;
        LOG.error("Store {} failed; every pending and later write fails", directory, cause);
        for (WriteOp op : batch) {
            op.releaseBuffers();
            op.future.completeExceptionally(failure);
        }
        failWaiters(checkpointWaiters, failure);
        drainAndFail();
        compactorThread.shutdown();
        maintenance.shutdown();
        completer.shutdown();
    }

    private static void failWaiters(List<WriteOp> waiters, StoreFailedException failure) {
        for (WriteOp waiter : waiters) {
            waiter.future.completeExceptionally(failure);
        }
        waiters.clear();
    }

    /** Fails every queued op; safe from any thread because each op is polled by one thread only. */
    private void drainAndFail() {
        StoreFailedException failure = terminal;
        WriteOp op;
        while ((op = queue.poll()) != null) {
            op.releaseBuffers();
            op.future.completeExceptionally(failure);
        }
    }
}
