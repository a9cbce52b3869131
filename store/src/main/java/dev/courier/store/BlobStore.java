package dev.courier.store;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The blob area of the store: one file {@code <id>.blob} per large message body, written as its
 * frames arrive ({@link #newWriter()}), read positionally on delivery, and deleted when the last
 * reference to its {@link Blob} is released. The message log holds only a reference to a blob
 * (the broker decides its format), so a body is written once whatever the number of queues.
 *
 * <p>At open, every blob file is <em>unclaimed</em>. Whoever rebuilds state from the log {@link
 * #claim}s the blobs that live messages reference (checking their size, so a blob torn by a crash
 * is never used), then calls {@link #deleteUnclaimed()}: the rest are orphans of transient
 * messages or of publishes a crash interrupted.
 *
 * <p>Thread-safe. Writes run on the store's blob writer thread ({@link BlobWriter}); fsyncs and
 * deletions on its blob I/O thread (so a slow fsync does not hold up writes); reads block in the
 * calling thread, one positional read at a time.
 */
public final class BlobStore implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(BlobStore.class);
    static final String SUFFIX = ".blob";
    static final Set<OpenOption> READ = Set.of(StandardOpenOption.READ);
    private static final Set<OpenOption> CREATE = Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    private static final Set<OpenOption> SYNC = Set.of(StandardOpenOption.WRITE);

    private final Path directory;
    private final ChannelFactory channels;
    private final AtomicLong nextId;
    /** Blobs with a live reference, by id: one object per file, so every holder shares its count. */
    private final ConcurrentHashMap<Long, Blob> live = new ConcurrentHashMap<>();
    /** Files found at open that nobody has claimed yet: id to size in bytes. */
    private final ConcurrentHashMap<Long, Long> unclaimed = new ConcurrentHashMap<>();

    private final ExecutorService io;
    private final ExecutorService writer;
    private volatile boolean closed;

    private BlobStore(Path directory, ChannelFactory channels, long nextId) {
        this.directory = directory;
        this.channels = channels;
        this.nextId = new AtomicLong(nextId);
        this.io = StoreThreads.single("courier-blob-io");
        this.writer = StoreThreads.single("courier-blob-writer");
    }

    /** Opens (creating it if needed) the blob directory; every blob file in it starts unclaimed. */
    public static BlobStore open(Path directory) throws IOException {
        return open(directory, ChannelFactory.DEFAULT);
    }

    /** {@link #open(Path)} with every file channel from {@code channels} (fault injection). */
    public static BlobStore open(Path directory, ChannelFactory channels) throws IOException {
        Files.createDirectories(directory);
        long highest = 0;
        java.util.Map<Long, Long> found = new java.util.HashMap<>();
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(directory)) {
            for (Path file : stream) {
                long id = idOf(file.getFileName().toString());
                if (id < 0) {
                    LOG.warn("blob store {}: ignoring unexpected file {}", directory, file.getFileName());
                    continue;
                }
                found.put(id, Files.size(file));
                highest = Math.max(highest, id);
            }
        }
        BlobStore store = new BlobStore(directory, channels, highest + 1);
        store.unclaimed.putAll(found);
        return store;
    }

    private static long idOf(String name) {
        if (!name.endsWith(SUFFIX) || name.length() == SUFFIX.length()) {
            return -1;
        }
        try {
            long id = Long.parseLong(name.substring(0, name.length() - SUFFIX.length()));
            return id > 0 ? id : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    public Path directory() {
        return directory;
    }

    /** Starts a new blob (its file is created on the writer thread). */
    public BlobWriter newWriter() throws IOException {
        if (closed) {
            throw new IOException("blob store " + directory + " is closed");
        }
        return new BlobWriter(this, nextId.getAndIncrement(), writer);
    }

    /**
     * The blob {@code id} a live stored message refers to, with one reference for the caller: the
     * same object for every claim of the same id. Null (logged) when its file is missing or does
     * not hold {@code sizeBytes} bytes (written only partly before a crash): it must not be used.
     */
    public Blob claim(long id, long sizeBytes) {
        while (true) {
            Blob blob = live.get(id);
            if (blob != null) {
                if (blob.sizeBytes() != sizeBytes) {
                    LOG.error("blob {} has {} bytes, a message expects {}", id, blob.sizeBytes(), sizeBytes);
                    return null;
                }
                try {
                    return blob.retain();
                } catch (io.netty.util.IllegalReferenceCountException e) {
                    live.remove(id, blob); // released just now: its file is going
                    return null;
                }
            }
            Long found = unclaimed.remove(id);
            if (found == null) {
                LOG.error("blob {} ({} bytes) is missing from {}", id, sizeBytes, directory);
                return null;
            }
            if (found != sizeBytes) {
                LOG.error("blob {} has {} bytes on disk, its message expects {}: not used", id, found, sizeBytes);
                unclaimed.put(id, found); // deleted with the other orphans
                return null;
            }
            Blob created = new Blob(this, id, sizeBytes);
            if (live.putIfAbsent(id, created) == null) {
                return created;
            }
        }
    }

    /** Deletes every blob file found at open that no {@link #claim} took; returns how many. */
    public int deleteUnclaimed() {
        int deleted = 0;
        for (Long id : unclaimed.keySet()) {
            if (unclaimed.remove(id) != null) {
                delete(id);
                deleted++;
            }
        }
        if (deleted > 0) {
            LOG.info("blob store {}: deleted {} blob(s) no stored message refers to", directory, deleted);
        }
        return deleted;
    }

    /** Blobs with a live reference now (tests, metrics). */
    public int liveCount() {
        return live.size();
    }

    /**
     * Stops deleting files on release, then stops the I/O thread. Called when the broker shuts
     * down, before queues drop their messages: stored blobs must survive the shutdown (transient
     * ones left behind are orphans the next open deletes).
     */
    @Override
    public void close() {
        closed = true;
        writer.shutdown();
        io.shutdown();
    }

    // ---------------------------------------------------------------- package-private

    ChannelFactory channels() {
        return channels;
    }

    /** Creates blob {@code id}'s file for writing (writer thread). */
    FileChannel create(long id) throws IOException {
        return channels.open(pathOf(id), CREATE);
    }

    Path pathOf(long id) {
        return directory.resolve(id + SUFFIX);
    }

    Blob register(long id, long sizeBytes) {
        Blob blob = new Blob(this, id, sizeBytes);
        live.put(id, blob);
        return blob;
    }

    void force(Blob blob, CompletableFuture<Void> done) {
        try {
            io.execute(() -> {
                try {
                    try (FileChannel channel = channels.open(blob.path(), SYNC)) {
                        channel.force(true);
                    }
                    StoreFiles.fsyncDirectory(directory, channels);
                    done.complete(null);
                } catch (IOException | RuntimeException e) {
                    done.completeExceptionally(new StoreFailedException("cannot fsync " + blob, e));
                }
            });
        } catch (RejectedExecutionException e) {
            done.completeExceptionally(new StoreFailedException("blob store " + directory + " is closed", e));
        }
    }

    /** The last reference to {@code blob} is gone: its file goes too, unless the store closed. */
    void onReleased(Blob blob) {
        live.remove(blob.id(), blob);
        delete(blob.id());
    }

    void delete(long id) {
        if (closed) {
            return;
        }
        try {
            io.execute(() -> deleteNow(id));
        } catch (RejectedExecutionException e) {
            // closing: the next open deletes it as an orphan
        }
    }

    private void deleteNow(long id) {
        try {
            Files.delete(pathOf(id));
        } catch (NoSuchFileException e) {
            // already gone
        } catch (IOException e) {
            LOG.warn("blob store {}: cannot delete blob {}", directory, id, e);
        }
    }
}
