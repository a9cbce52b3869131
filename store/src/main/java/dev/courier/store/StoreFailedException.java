package dev.courier.store;

/**
 * The store cannot accept or make durable a write: a write or fsync failed (the store then stays
 * closed for writes: every pending and later future fails with this), or the store was closed.
 * A future failing with this means the record may or may not be on disk; it was not confirmed.
 */
public final class StoreFailedException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public StoreFailedException(String message) {
        super(message);
    }

    public StoreFailedException(String message, Throwable cause) {
        super(message, cause);
    }
}
