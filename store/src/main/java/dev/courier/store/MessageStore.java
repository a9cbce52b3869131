package dev.courier.store;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.zip.CRC32C;

/**
 * The durable message store of one broker node: open it on a directory, take the {@link
 * #recovered()} state to rebuild queues, then publish, enqueue, remove and mark messages, and
 * read bodies back on delivery. See the package documentation for the model, the format and
 * the threading contract.
 *
 * <p>All methods are thread-safe. Write methods never block: they return a future that completes
 * (on the store's completer thread, in submission order) once the record is durable under the
 * configured {@link StoreConfig.FsyncPolicy}, or fails with {@link StoreFailedException}. {@link
 * #read(long)} blocks for one positional read.
 *
 * <p>Typical broker use:
 *
 * <pre>{@code
 * MessageStore store = MessageStore.open(dataDir.resolve("store"), StoreConfig.defaults());
 * for (RecoveredQueue q : store.recovered().queueList()) { ... rebuild q.name() from ids ... }
 * StoreQueue orders = store.queue("/|orders");          // durable queue, once per declare
 * long id = store.nextMessageId();
 * store.publish(id, headerBuf, bodyBuf, List.of(orders)) // store retains the buffers it needs
 *      .whenComplete((ok, error) -> confirmOrNack(...)); // hop to your own thread here
 * store.markDelivered(orders, id);                       // before the first delivery
 * store.remove(orders, id);                              // on ack / reject / dead-letter
 * StoredMessage m = store.read(id);                      // on delivery, if not in memory
 * }</pre>
 */
public final class MessageStore implements AutoCloseable {
    private final Path directory;
    private final StoreState state;
    private final LogWriter writer;
    private final RecoveryReport recoveryReport;
    private final ConcurrentHashMap<String, StoreQueue> queues = new ConcurrentHashMap<>();
    private final AtomicInteger nextQueueId;
    private final AtomicLong nextMessageId;
    private final FileChannel lockChannel;
    private final LongAdder messagesRead = new LongAdder();
    private final BlobStore blobs;
    private volatile RecoveredState recovered;

    private MessageStore(
            Path directory,
            StoreConfig config,
            ChannelFactory channels,
            Recovery.Result result,
            FileChannel lockChannel,
            BlobStore blobs)
            throws IOException {
        this.directory = directory;
        this.blobs = blobs;
        this.state = result.state();
        this.recoveryReport = result.report();
        this.recovered = result.recovered();
        this.lockChannel = lockChannel;
        this.nextQueueId = new AtomicInteger(result.nextQueueId());
        this.nextMessageId = new AtomicLong(state.highestMessageId + 1);
        for (RecoveredQueue queue : recovered.queueList()) {
            queues.put(queue.name(), queue.queue());
        }
        this.writer = new LogWriter(
                directory, config, channels, state, result.nextSegmentId(), result.bytesReplayed(), nextQueueId::get);
        writer.start();
    }

    /** Opens (creating if needed) the store in {@code directory}, recovering what is there. */
    public static MessageStore open(Path directory, StoreConfig config) throws IOException {
        return open(directory, config, ChannelFactory.DEFAULT);
    }

    /**
     * Opens the store with every file channel coming from {@code channels} (fault injection).
     *
     * @throws IOException if the directory cannot be used or is locked by another open store
     */
    public static MessageStore open(Path directory, StoreConfig config, ChannelFactory channels) throws IOException {
        Files.createDirectories(directory);
        FileChannel lockChannel = FileChannel.open(
                directory.resolve(StoreFiles.LOCK), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        try {
            FileLock lock;
            try {
                lock = lockChannel.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null; // held by another store in this JVM
            }
            if (lock == null) {
                throw new IOException("Store directory " + directory + " is in use by another open store");
            }
            Files.deleteIfExists(directory.resolve(StoreFiles.CHECKPOINT_TEMP));
            BlobStore blobs = BlobStore.open(directory.resolve(StoreFiles.BLOBS), channels);
            try {
                return new MessageStore(
                        directory, config, channels, Recovery.run(directory, channels), lockChannel, blobs);
            } catch (IOException | RuntimeException | Error e) {
                blobs.close();
                throw e;
            }
        } catch (IOException | RuntimeException | Error e) {
            lockChannel.close();
            throw e;
        }
    }

    /**
     * The blob area of this store ({@code blobs/} in its directory), for bodies of large messages.
     * Its files found at open stay unclaimed until the caller has rebuilt its state (see {@link
     * BlobStore#deleteUnclaimed()}).
     */
    public BlobStore blobs() {
        return blobs;
    }

    /** What recovery found at open (also logged). */
    public RecoveryReport recoveryReport() {
        return recoveryReport;
    }

    /**
     * The queues and metadata found at open. Call once while rebuilding the broker; {@link
     * #releaseRecovered()} then lets the store drop it.
     */
    public RecoveredState recovered() {
        RecoveredState state = recovered;
        if (state == null) {
            throw new IllegalStateException("recovered state already released");
        }
        return state;
    }

    /** Drops the reference to {@link #recovered()} so its arrays can be collected. */
    public void releaseRecovered() {
        recovered = null;
    }

    /**
     * A fresh message id above every id in the store. Callers may use their own ids instead (any
     * id in [0, Long.MAX_VALUE - 1] not currently live), but must not mix both schemes.
     */
    public long nextMessageId() {
        return nextMessageId.getAndIncrement();
    }

    /**
     * The handle of the durable queue {@code name}, creating it (with a durable record ordered
     * before anything later submitted for it) if it does not exist.
     */
    public StoreQueue queue(String name) {
        return queues.computeIfAbsent(name, n -> {
            StoreQueue queue = new StoreQueue(n, nextQueueId.getAndIncrement());
            writer.submit(new WriteOp.QueueCommand(RecordFormat.QUEUE_CREATE, queue.id(), n));
            return queue;
        });
    }

    /** Deletes the queue and all its entries (messages no other queue holds become dead). */
    public CompletableFuture<Void> deleteQueue(StoreQueue queue) {
        queues.remove(queue.name(), queue);
        return submit(new WriteOp.QueueCommand(RecordFormat.QUEUE_DELETE, queue.id(), null));
    }

    /** Removes every entry the queue has now; later enqueues are kept. */
    public CompletableFuture<Void> purgeQueue(StoreQueue queue) {
        return submit(new WriteOp.QueueCommand(RecordFormat.QUEUE_PURGE, queue.id(), null));
    }

    /**
     * Stores a message once and enters it on {@code queues} (in that order on each queue). The
     * store takes its own reference to the readable bytes of {@code header} and {@code body} (it
     * does not change their indexes) and releases it once written; the caller keeps its own.
     *
     * @param messageId a new id (see {@link #nextMessageId()})
     * @param header opaque bytes returned by {@link #read} (e.g. exchange, routing key, properties)
     */
    public CompletableFuture<Void> publish(long messageId, ByteBuf header, ByteBuf body, List<StoreQueue> queues) {
        return publish(messageId, 0, header, body, queues);
    }

    /**
     * {@link #publish(long, ByteBuf, ByteBuf, List)} with {@code attributes}: a value the store
     * keeps with the message without interpreting it (in the log, the index and checkpoints) and
     * hands back at open ({@link RecoveredQueue#attributes}), so the caller can rebuild its view
     * of a message without reading it.
     */
    public CompletableFuture<Void> publish(
            long messageId, long attributes, ByteBuf header, ByteBuf body, List<StoreQueue> queues) {
        return submit(publishOp(messageId, attributes, header, body, queues));
    }

    /** The MESSAGE op of a publish, holding its own references to the buffers' readable bytes. */
    static WriteOp.Publish publishOp(
            long messageId, long attributes, ByteBuf header, ByteBuf body, List<StoreQueue> queues) {
        checkMessageId(messageId);
        if (queues.isEmpty() || queues.size() > RecordFormat.MAX_QUEUES_PER_MESSAGE) {
            throw new IllegalArgumentException("a message needs 1 to 65535 queues, got " + queues.size());
        }
        int[] queueIds = new int[queues.size()];
        for (int i = 0; i < queueIds.length; i++) {
            queueIds[i] = queues.get(i).id();
        }
        ByteBuf headerRef = header.retainedSlice();
        ByteBuf bodyRef;
        try {
            bodyRef = body.retainedSlice();
        } catch (RuntimeException e) {
            headerRef.release();
            throw e;
        }
        return new WriteOp.Publish(messageId, attributes, queueIds, headerRef, bodyRef);
    }

    /** {@link #publish(long, ByteBuf, ByteBuf, List)} for one queue. */
    public CompletableFuture<Void> publish(long messageId, ByteBuf header, ByteBuf body, StoreQueue queue) {
        return publish(messageId, 0, header, body, List.of(queue));
    }

    /** {@link #publish(long, long, ByteBuf, ByteBuf, List)} for one queue. */
    public CompletableFuture<Void> publish(
            long messageId, long attributes, ByteBuf header, ByteBuf body, StoreQueue queue) {
        return publish(messageId, attributes, header, body, List.of(queue));
    }

    /** Enters an already stored message on another queue, at its tail (e.g. a move). */
    public CompletableFuture<Void> enqueue(StoreQueue queue, long messageId) {
        return entries(RecordFormat.ENQUEUE, queue, new long[] {messageId}, 1);
    }

    /** Takes the message off the queue (ack, reject, dead-letter, expiry). */
    public CompletableFuture<Void> remove(StoreQueue queue, long messageId) {
        return entries(RecordFormat.REMOVE, queue, new long[] {messageId}, 1);
    }

    /** Takes the first {@code count} of {@code messageIds} off the queue in one record. */
    public CompletableFuture<Void> remove(StoreQueue queue, long[] messageIds, int count) {
        return entries(RecordFormat.REMOVE, queue, Arrays.copyOf(messageIds, count), count);
    }

    /**
     * Records that the message was handed to a consumer, so it comes back with AMQP's redelivered
     * flag after a restart. Call before (or with) the first delivery.
     */
    public CompletableFuture<Void> markDelivered(StoreQueue queue, long messageId) {
        return entries(RecordFormat.DELIVERED, queue, new long[] {messageId}, 1);
    }

    /** {@link #markDelivered(StoreQueue, long)} for the first {@code count} ids, in one record. */
    public CompletableFuture<Void> markDelivered(StoreQueue queue, long[] messageIds, int count) {
        return entries(RecordFormat.DELIVERED, queue, Arrays.copyOf(messageIds, count), count);
    }

    private CompletableFuture<Void> entries(byte type, StoreQueue queue, long[] ids, int count) {
        for (int i = 0; i < count; i++) {
            checkMessageId(ids[i]);
        }
        return submit(new WriteOp.QueueEntries(type, queue.id(), ids, count));
    }

    static void checkMessageId(long messageId) {
        if (messageId < 0 || messageId == Long.MAX_VALUE) {
            throw new IllegalArgumentException("message ids must be in [0, Long.MAX_VALUE): " + messageId);
        }
    }

    /** Durably sets a metadata value (the array is copied). */
    public CompletableFuture<Void> putMetadata(String key, byte[] value) {
        return submit(new WriteOp.Metadata(key, value.clone()));
    }

    public CompletableFuture<Void> deleteMetadata(String key) {
        return submit(new WriteOp.Metadata(key, null));
    }

    /** Completes once everything submitted before it is durable. */
    public CompletableFuture<Void> flush() {
        return submit(new WriteOp.Barrier(false));
    }

    /** Writes a checkpoint of everything submitted before it; completes once the file is durable. */
    public CompletableFuture<Void> checkpoint() {
        return submit(new WriteOp.Barrier(true));
    }

    /**
     * Writes everything {@code transaction} holds as one unit: after a crash either all of its
     * publishes and removals are recovered or none is (see the TX_GROUP record in the package
     * documentation). Completes once the unit is durable; an empty transaction completes at once.
     * The transaction cannot be used again.
     */
    public CompletableFuture<Void> commit(StoreTransaction transaction) {
        List<WriteOp> members = transaction.take();
        if (members.isEmpty()) {
            return CompletableFuture.completedFuture(null);
        }
        return submit(new WriteOp.Group(members));
    }

    private CompletableFuture<Void> submit(WriteOp op) {
        writer.submit(op);
        return op.future;
    }

    /**
     * Reads a message back from disk. Blocks for one positional read; safe from any thread and
     * concurrently with writes, compaction and segment deletion.
     *
     * @return the message (the caller owns both buffers), or null if no queue holds it, or its
     *     publish has not completed yet
     * @throws IOException if the read fails or the record on disk is damaged
     */
    public StoredMessage read(long messageId) throws IOException {
        long location;
        int storedBytes;
        Segment segment;
        state.lock.readLock().lock();
        try {
            int slot = state.messages.find(messageId);
            if (slot < 0) {
                return null;
            }
            location = state.messages.location(slot);
            storedBytes = state.messages.storedBytes(slot);
            segment = state.segments.get(RecordFormat.segmentOf(location));
            if (segment == null || !segment.retain()) {
                throw new IOException(
                        "segment of message " + messageId + " is gone: " + RecordFormat.describe(location));
            }
        } finally {
            state.lock.readLock().unlock();
        }
        messagesRead.increment();
        // the record's length depends on how many queue ids it lists, which the index does not
        // keep: read it as if it listed one (every record but a fanout's is that long or 4 bytes
        // shorter) and read the rest only when the frame says it is longer
        int guessBytes = RecordFormat.messagePrefixBytes(1) + storedBytes;
        ByteBuf record = PooledByteBufAllocator.DEFAULT.directBuffer(guessBytes);
        try {
            long offset = RecordFormat.offsetOf(location);
            int have = readAt(segment, offset, record, 0, guessBytes, RecordFormat.FRAME_HEADER_BYTES, location);
            int length = record.getInt(0);
            long recordBytes = RecordFormat.FRAME_HEADER_BYTES + (long) length;
            if (length < 1 || recordBytes > guessBytes + 4L * RecordFormat.MAX_QUEUES_PER_MESSAGE) {
                throw new IOException(
                        "damaged record for message " + messageId + " at " + RecordFormat.describe(location));
            }
            if (recordBytes > have) {
                record.capacity((int) recordBytes);
                readAt(segment, offset, record, have, (int) recordBytes, (int) recordBytes, location);
            }
            record.writerIndex((int) recordBytes);
            return decode(messageId, record, location);
        } finally {
            segment.release();
            record.release();
        }
    }

    /**
     * Reads the segment from {@code offset + from} into {@code record} from index {@code from}
     * until {@code to} or the end of the file; returns the bytes now in the buffer, at least
     * {@code atLeast}.
     */
    private static int readAt(
            Segment segment, long offset, ByteBuf record, int from, int to, int atLeast, long location)
            throws IOException {
        ByteBuffer view = record.nioBuffer(from, to - from);
        while (view.hasRemaining()) {
            if (segment.channel.read(view, offset + from + view.position()) < 0) {
                break;
            }
        }
        int have = from + view.position();
        if (have < atLeast) {
            throw new IOException("unexpected end of " + segment + " reading " + RecordFormat.describe(location));
        }
        return have;
    }

    private static StoredMessage decode(long messageId, ByteBuf record, long location) throws IOException {
        ByteBuffer frame = record.nioBuffer();
        int length = frame.getInt(0);
        int type = frame.get(RecordFormat.FRAME_HEADER_BYTES);
        if (length != record.readableBytes() - RecordFormat.FRAME_HEADER_BYTES
                || !RecordFormat.crcMatches(frame, 0, length, new CRC32C())
                || (type != RecordFormat.MESSAGE && type != RecordFormat.RELOCATED)
                || record.getLong(RecordFormat.FRAME_HEADER_BYTES + 1) != messageId) {
            throw new IOException("damaged record for message " + messageId + " at " + RecordFormat.describe(location));
        }
        int queueCount = record.getUnsignedShort(RecordFormat.FRAME_HEADER_BYTES + 1 + RecordFormat.QUEUE_COUNT_AT);
        int headerLengthAt = RecordFormat.messagePrefixBytes(queueCount) - 4;
        int headerBytes = record.getInt(headerLengthAt);
        int headerStart = headerLengthAt + 4;
        int bodyStart = headerStart + headerBytes;
        ByteBuf header = record.retainedSlice(headerStart, headerBytes);
        ByteBuf body = record.retainedSlice(bodyStart, record.readableBytes() - bodyStart);
        return new StoredMessage(messageId, header, body);
    }

    /** Whether a queue holds the message and its record is durable. */
    public boolean contains(long messageId) {
        state.lock.readLock().lock();
        try {
            return state.messages.find(messageId) >= 0;
        } finally {
            state.lock.readLock().unlock();
        }
    }

    /** Free bytes on the store's file system, for the broker's disk-free watermark. */
    public long usableSpaceBytes() {
        try {
            return Files.getFileStore(directory).getUsableSpace();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Whether a write failure has closed the store for writes. */
    public boolean failed() {
        return writer.failed();
    }

    public StoreStats stats() {
        long liveMessages;
        int segments;
        state.lock.readLock().lock();
        try {
            liveMessages = state.messages.size();
            segments = state.segments.size();
        } finally {
            state.lock.readLock().unlock();
        }
        return new StoreStats(
                writer.batchesWritten,
                writer.forces,
                writer.forceNanos,
                writer.recordsWritten,
                writer.recordsCancelled,
                writer.bytesWritten,
                writer.checkpointsWritten,
                writer.segmentsDeleted,
                writer.messagesRelocated,
                liveMessages,
                segments,
                messagesRead.sum(),
                writer.segmentsPreallocated());
    }

    /** Heap bytes held by the index tables (for tests and metrics). */
    long indexHeapBytes() {
        state.lock.readLock().lock();
        try {
            return state.messages.heapBytes() + state.extraEntries.heapBytes();
        } finally {
            state.lock.readLock().unlock();
        }
    }

    /** Where the message's record is (segment id high, offset low), or -1 (tests). */
    long locationOf(long messageId) {
        state.lock.readLock().lock();
        try {
            int slot = state.messages.find(messageId);
            return slot < 0 ? -1 : state.messages.location(slot);
        } finally {
            state.lock.readLock().unlock();
        }
    }

    /** The open segment with this id, or null (tests). */
    Segment segmentForTest(long segmentId) {
        state.lock.readLock().lock();
        try {
            return state.segments.get(segmentId);
        } finally {
            state.lock.readLock().unlock();
        }
    }

    /** The log position after the last durable batch (tests). */
    long appliedPosition() {
        return writer.appliedPosition();
    }

    Path directory() {
        return directory;
    }

    /**
     * Writes everything already submitted, writes a final checkpoint (so the next open replays
     * nothing), and stops the store's threads. Later writes fail with {@link StoreFailedException}.
     */
    @Override
    public void close() throws IOException {
        try {
            writer.close();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while closing " + directory, e);
        } finally {
            blobs.close();
            lockChannel.close();
        }
    }
}
