package dev.courier.client;

import java.util.concurrent.TimeoutException;

/** No reply to an {@link RpcClient} request arrived within its timeout. */
public final class RpcTimeoutException extends TimeoutException {
    private static final long serialVersionUID = 1L;

    private final String correlationId;

    public RpcTimeoutException(String correlationId, String message) {
        super(message);
        this.correlationId = correlationId;
    }

    /** The correlation id of the request that timed out; a late reply with it is dropped. */
    public String correlationId() {
        return correlationId;
    }
}
