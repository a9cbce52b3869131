package dev.courier.client;

import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;

/**
 * Where {@link ClaimCheck} parks payloads: a filesystem ({@link FileSystemPayloadStore}), or an
 * object store or a database table an application implements.
 *
 * <p>Implementations must be safe to call from several threads, and {@link #put} must make a payload
 * visible atomically: a reader either finds the whole payload or none of it.
 */
public interface PayloadStore {
    /**
     * A short name for this store, written into every reference, so a consumer can tell that a
     * reference belongs to a store it does not read (e.g. {@code "fs"}, {@code "s3:bucket"}).
     */
    String id();

    /**
     * Stores everything {@code payload} yields until end of stream and returns the key that
     * {@link #open} and {@link #delete} take. The stream is not closed.
     */
    String put(InputStream payload) throws IOException;

    /**
     * Opens a stored payload for reading; the caller closes the stream.
     *
     * @throws PayloadNotFoundException when no payload is stored under {@code key}
     */
    InputStream open(String key) throws IOException;

    /** Deletes a payload; returns false when there was none. */
    boolean delete(String key) throws IOException;

    /**
     * Deletes the payloads stored before {@code cutoff} (and any half-written leftovers of the same
     * age); returns how many were deleted. {@link PayloadSweeper} calls this to expire payloads
     * whose messages were dead-lettered, expired, or consumed with deletion turned off.
     */
    int deleteOlderThan(Instant cutoff) throws IOException;
}
