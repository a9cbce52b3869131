/**
 * The local durable message store: a segmented, append-only log with group-commit fsync, an
 * in-memory index of live messages, checkpoints, crash recovery and space reclaim. It knows
 * nothing about AMQP: messages are opaque header and body bytes identified by a {@code long} id
 * the caller assigns, queues are names, and exchange/queue/binding definitions are opaque
 * metadata values under string keys.
 *
 * <h2>Model</h2>
 *
 * <ul>
 *   <li>A <em>message</em> is stored once ({@link dev.courier.store.MessageStore#publish}) and may
 *       sit on several queues at once (fanout). It stays on disk while at least one queue holds
 *       it; {@link dev.courier.store.MessageStore#remove} takes it off one queue (ack, reject,
 *       dead-letter, expiry).
 *   <li>A <em>queue</em> ({@link dev.courier.store.StoreQueue}) is an ordered list of message ids
 *       with a redelivered flag each ({@link dev.courier.store.MessageStore#markDelivered}); order
 *       is the order in which the caller enqueued.
 *   <li><em>Metadata</em> is a string-keyed map of opaque values (durable exchanges, queues with
 *       their arguments, bindings), with put and delete.
 * </ul>
 *
 * <h2>Threading</h2>
 *
 * Every write method may be called from any thread and never blocks on I/O: it queues a record
 * for the store's single writer thread and returns a {@link java.util.concurrent.CompletableFuture}.
 * The writer drains everything that arrived while its previous write and {@code force} ran into
 * the next single write and single {@code force(false)} (group commit), then completes all those
 * futures together, in submission order, on the store's completer thread (never on the writer,
 * so a slow callback cannot stall the log; callers should still hop to their own threads).
 * Records from one thread reach the log in the order that thread submitted them. {@link
 * dev.courier.store.MessageStore#read} is a blocking positional read, safe from any thread,
 * concurrently with writes, checkpoints and compaction.
 *
 * <h2>On-disk format</h2>
 *
 * The directory holds segment files {@code 00000000000000000001.seg}, …, a {@code checkpoint}
 * file, a {@code LOCK} file and the {@code blobs/} directory. All integers are big-endian.
 *
 * <pre>
 * segment  := header record*
 * header   := magic:int32 ("CRSG") version:int32 (2) segmentId:int64            (16 bytes)
 * record   := length:int32 lengthCheck:int32 crc:int32 type:int8 payload
 *             length      = 1 + payload bytes
 *             lengthCheck = length XOR 0x5BD1E995 (lets a scan find the next record after damage)
 *             crc         = CRC32C over type and payload
 * payloads:
 *   1 MESSAGE      messageId:int64 attributes:int64 queueCount:uint16 queueId:int32* headerLength:int32 header body
 *   2 RELOCATED    messageId:int64 attributes:int64 0:uint16 headerLength:int32 header body   (compaction copy)
 *   3 ENQUEUE      queueId:int32 count:int32 messageId:int64*
 *   4 REMOVE       queueId:int32 count:int32 messageId:int64*
 *   5 DELIVERED    queueId:int32 count:int32 messageId:int64*
 *   6 QUEUE_CREATE queueId:int32 name:utf8
 *   7 QUEUE_DELETE queueId:int32
 *   8 QUEUE_PURGE  queueId:int32
 *   9 META_PUT     keyLength:int32 key:utf8 value
 *  10 META_DELETE  key:utf8
 *  11 TX_GROUP     count:int32 memberBytes:int32, then that many records (MESSAGE, REMOVE) in memberBytes
 * </pre>
 *
 * <p>A TX_GROUP ({@link dev.courier.store.MessageStore#commit}) makes a transaction one unit:
 * its members are written right after it in the same segment, in one write, and recovery applies
 * them only if all are intact. A group cut short at the end of the log is truncated away whole
 * (a crash while writing it); a damaged group elsewhere is reported and skipped whole. Members are
 * ordinary records, so reads, checkpoints and compaction treat them like any other.
 *
 * <h3>Blobs</h3>
 *
 * The subdirectory {@code blobs/} holds the bodies of large messages ({@link
 * dev.courier.store.BlobStore}), one file {@code <id>.blob} each: the raw body bytes, nothing
 * else, written as the body arrives and fsynced on its own. The log knows nothing of them: a
 * caller that stores a message whose body is a blob writes an ordinary MESSAGE record whose body
 * is its own small reference to the blob (the broker's is {@code blobId:int64 bodySize:int64},
 * flagged in its attributes) and, after a restart, claims the blobs its live messages refer to;
 * the unclaimed ones are deleted. A blob whose file is shorter or longer than its reference says
 * (a crash before its fsync) is not used. Stores written before blobs existed have no {@code
 * blobs/} directory and read as before, so the format version did not change.
 *
 * <p>{@code attributes} is the caller's opaque value given at publish (the broker packs what it
 * needs to rebuild a queue entry without reading the message). A segment or checkpoint of
 * another format version is refused at open with an error naming the versions, never misread.
 *
 * <p>A record never spans segments; a new segment is started when the next record would take the
 * active one past {@link dev.courier.store.StoreConfig#segmentSizeBytes()} (a record larger
 * than that gets a segment of its own). Each open starts a new segment.
 *
 * <p>With {@link dev.courier.store.StoreConfig#preallocateSegments()} (the default) a new segment
 * is, when one is ready, a spare file ({@code spare-segment.ready}) that the maintenance thread
 * zero-filled to the full segment size and fsynced while the previous segment filled, renamed to
 * the segment's name ({@link dev.courier.store.SegmentPreallocator}). Writing inside an allocated
 * file of fixed size leaves an fdatasync no metadata to write, which roughly halves it on ext4.
 * The active segment therefore ends in zeros: a scan reads bytes that are zero up to a segment's
 * end as the end of its data (zeros followed by anything else are still damage), the writer cuts
 * a segment to its data when it seals it or closes, and recovery cuts the zero tail a crash left
 * and deletes a last segment that is zero from its first byte (renamed, never written).
 *
 * <p>The {@code checkpoint} file is a snapshot of the whole index at a log position (queues,
 * metadata, per-segment live counts, every live message's location and queue entries), written
 * to a temporary file, fsynced, renamed over the old one and made durable with an fsync of the
 * directory. Recovery loads it and replays only the log after its position. A segment is
 * deleted once a durable checkpoint lies after it and records zero live messages in it, because
 * from then on nothing in that segment (bodies or tombstones) is needed to rebuild the state.
 *
 * <h2>Memory</h2>
 *
 * The index holds no bodies: per live message one 40-byte slot in an open-addressing table of
 * primitive longs (id, location, queue-entry sequence and flags, first queue and stored size,
 * attributes) kept between 37% and 75% full, so 53-108 bytes per message; each additional
 * queue holding the same message costs one 24-byte slot in a second table. Measured with 2
 * million queued 1 KB messages: 60 bytes per message (54.5 with the 32-byte slots before the
 * attributes), recovery from the checkpoint in 0.7 s (2.5 s replaying the whole 2 GB log
 * instead). The slot keeps the header-plus-body size rather than the record's length (which also
 * depends on its queue count), so {@link dev.courier.store.MessageStore#read} reads a record as
 * if it listed one queue and, for a fanout record, reads the rest in a second read.
 *
 * <h2>Space reclaim</h2>
 *
 * Each segment counts the messages written to it and those still live. A sealed segment with no
 * live message is deleted after the next checkpoint (checkpoints come every {@link
 * dev.courier.store.StoreConfig#checkpointIntervalBytes()} of log, sooner when a segment died).
 * A sealed segment whose live fraction is below {@link
 * dev.courier.store.StoreConfig#compactionLiveRatio()} is compacted on a background thread: its
 * live messages are re-appended as RELOCATED records through the ordinary group commit (so
 * publishers are never stalled), after which it is dead and deleted like any other. A checkpoint
 * is captured on the writer thread by copying the occupied index slots (about 2.5 ms per million
 * messages, the only pause appends see) and written on a maintenance thread.
 */
package dev.courier.store;
