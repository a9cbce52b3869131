package dev.courier.store;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One segment file: its channel (shared by the writer and readers: positional reads and writes
 * on a {@link FileChannel} are safe concurrently) and its message counts.
 *
 * <p>The channel is reference counted so a reader that looked the segment up can finish its read
 * even if the segment is deleted meanwhile: the owner's reference is dropped on deletion and the
 * channel closes when the last reader releases it. The counts belong to the writer thread (and
 * to recovery before the writer starts); a checkpoint copies them on the writer thread.
 */
final class Segment {
    private static final Logger LOG = LoggerFactory.getLogger(Segment.class);

    final long id;
    final Path path;
    final FileChannel channel;
    private final AtomicInteger refs = new AtomicInteger(1);

    // writer-thread state
    long liveMessages;
    long totalMessages;
    long sizeBytes;

    Segment(long id, Path path, FileChannel channel, long sizeBytes) {
        this.id = id;
        this.path = path;
        this.channel = channel;
        this.sizeBytes = sizeBytes;
    }

    static String fileName(long segmentId) {
        return String.format("%020d.seg", segmentId);
    }

    /** Parses a segment file name, or returns -1 if {@code name} is not one. */
    static long parseId(String name) {
        if (name.length() != 24 || !name.endsWith(".seg")) {
            return -1;
        }
        try {
            return Long.parseLong(name.substring(0, 20));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** Takes a reader's reference; false if the segment was already closed. */
    boolean retain() {
        while (true) {
            int current = refs.get();
            if (current == 0) {
                return false;
            }
            if (refs.compareAndSet(current, current + 1)) {
                return true;
            }
        }
    }

    void release() {
        if (refs.decrementAndGet() == 0) {
            try {
                channel.close();
            } catch (IOException e) {
                LOG.warn("Closing segment {} failed", path, e);
            }
        }
    }

    /** Unlinks the file and drops the owner's reference. */
    void delete() {
        try {
            Files.deleteIfExists(path);
        } catch (IOException e) {
            LOG.warn("Deleting segment {} failed", path, e);
        }
        release();
    }

    @Override
    public String toString() {
        return "segment " + id;
    }
}
