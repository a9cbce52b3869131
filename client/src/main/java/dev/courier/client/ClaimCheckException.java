package dev.courier.client;

import java.io.IOException;

/** A claim-check reference that cannot be resolved: malformed, for another store, or corrupt. */
public class ClaimCheckException extends IOException {
    private static final long serialVersionUID = 1L;

    public ClaimCheckException(String message) {
        super(message);
    }

    public ClaimCheckException(String message, Throwable cause) {
        super(message, cause);
    }
}
