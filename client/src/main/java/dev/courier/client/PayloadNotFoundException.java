package dev.courier.client;

/**
 * A reference names a payload the store does not hold (never stored, already deleted after an
 * earlier ack, or expired by the sweeper).
 */
public final class PayloadNotFoundException extends ClaimCheckException {
    private static final long serialVersionUID = 1L;

    private final String key;

    public PayloadNotFoundException(String storeId, String key) {
        super("no payload with key '" + key + "' in payload store '" + storeId + "'");
        this.key = key;
    }

    /** The key that was looked up. */
    public String key() {
        return key;
    }
}
