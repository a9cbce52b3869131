package dev.courier.client;

import java.io.IOException;

/** The {@link RpcServer}'s handler failed; the message is the server's description of the failure. */
public final class RpcRemoteException extends IOException {
    private static final long serialVersionUID = 1L;

    public RpcRemoteException(String message) {
        super(message);
    }
}
