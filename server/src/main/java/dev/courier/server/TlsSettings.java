package dev.courier.server;

import java.util.Locale;
import java.util.Map;

/**
 * TLS for AMQP (AMQPS) and, optionally, the management port, from the {@code ssl.*} config keys:
 * a certificate and key as PEM files ({@code ssl.certfile}, {@code ssl.keyfile}, the key in
 * PKCS#8) or a PKCS#12 key store ({@code ssl.keystore}, {@code ssl.keystore_password}); client
 * certificates are checked against {@code ssl.cacertfile} when {@code ssl.verify=peer}.
 *
 * @param port AMQPS port as configured: -1 = no TLS listener, 0 = any free port, {@link #UNSET}
 *     (the default) = {@link #DEFAULT_PORT} when a certificate is configured, else none; see
 *     {@link #amqpsPort()}
 * @param certFile PEM certificate chain, or empty
 * @param keyFile PEM private key (PKCS#8), or empty
 * @param keyStore PKCS#12 file holding the key and certificate, or empty
 * @param keyStorePassword its password
 * @param caCertFile PEM certificates that client certificates must chain to, or empty
 * @param verifyPeer ask clients for a certificate ({@code ssl.verify=peer})
 * @param failIfNoPeerCert refuse clients without one ({@code ssl.fail_if_no_peer_cert})
 * @param management serve the management port over HTTPS with the same certificate
 */
public record TlsSettings(
        int port,
        String certFile,
        String keyFile,
        String keyStore,
        String keyStorePassword,
        String caCertFile,
        boolean verifyPeer,
        boolean failIfNoPeerCert,
        boolean management) {

    /** The config keys, with descriptions. */
    static final Map<String, String> KEYS = Map.of(
            "ssl.port",
            "AMQPS port (default 5671 when a certificate is configured, else none; -1 = no TLS listener; 0 = any free port)",
            "ssl.certfile",
            "PEM certificate (chain) for TLS",
            "ssl.keyfile",
            "PEM private key (PKCS#8) for TLS",
            "ssl.keystore",
            "PKCS#12 key store for TLS, instead of the PEM files",
            "ssl.keystore_password",
            "password of ssl.keystore",
            "ssl.cacertfile",
            "PEM CA certificates that client certificates must chain to",
            "ssl.verify",
            "'none' (default) or 'peer': ask clients for a certificate",
            "ssl.fail_if_no_peer_cert",
            "with ssl.verify=peer, refuse clients without a certificate (default false)",
            "management.ssl",
            "true: the management port speaks HTTPS with the TLS certificate (default false)");

    /** The AMQPS port when a certificate is configured and {@code ssl.port} is not: RabbitMQ's. */
    public static final int DEFAULT_PORT = 5671;

    /** {@code ssl.port} not set (its config value is empty). */
    public static final int UNSET = -2;

    static final TlsSettings NONE = new TlsSettings(UNSET, "", "", "", "", "", false, false, false);

    public TlsSettings {
        if (port != UNSET && (port < -1 || port > 65535)) {
            throw new IllegalArgumentException("ssl.port must be -1..65535, got " + port);
        }
    }

    /** Whether a certificate is configured (PEM files or a key store). */
    public boolean hasCertificate() {
        return !certFile.isEmpty() || !keyFile.isEmpty() || !keyStore.isEmpty();
    }

    /**
     * The port AMQPS listens on: {@code ssl.port} when set, else {@link #DEFAULT_PORT} when a
     * certificate is configured; -1 for no AMQPS listener.
     */
    public int amqpsPort() {
        if (port != UNSET) {
            return port;
        }
        return hasCertificate() ? DEFAULT_PORT : -1;
    }

    /**
     * Checks that the keys fit together; called when the server starts, since config keys are set
     * one at a time and the intermediate states need not make sense.
     */
    public void validate() {
        boolean pem = !certFile.isEmpty() || !keyFile.isEmpty();
        if (pem && !keyStore.isEmpty()) {
            throw new IllegalArgumentException("set either ssl.certfile + ssl.keyfile or ssl.keystore, not both");
        }
        if (pem && (certFile.isEmpty() || keyFile.isEmpty())) {
            throw new IllegalArgumentException("ssl.certfile and ssl.keyfile go together");
        }
        if ((amqpsPort() >= 0 || management) && !pem && keyStore.isEmpty()) {
            throw new IllegalArgumentException(
                    "TLS needs a certificate: set ssl.certfile and ssl.keyfile, or ssl.keystore");
        }
        if (verifyPeer && caCertFile.isEmpty()) {
            throw new IllegalArgumentException("ssl.verify=peer needs ssl.cacertfile");
        }
    }

    /** Whether any listener uses TLS. */
    public boolean enabled() {
        return amqpsPort() >= 0 || management;
    }

    void putInto(Map<String, String> values) {
        values.put("ssl.port", port == UNSET ? "" : Integer.toString(port));
        values.put("ssl.certfile", certFile);
        values.put("ssl.keyfile", keyFile);
        values.put("ssl.keystore", keyStore);
        values.put("ssl.keystore_password", keyStorePassword);
        values.put("ssl.cacertfile", caCertFile);
        values.put("ssl.verify", verifyPeer ? "peer" : "none");
        values.put("ssl.fail_if_no_peer_cert", Boolean.toString(failIfNoPeerCert));
        values.put("management.ssl", Boolean.toString(management));
    }

    static TlsSettings from(Map<String, String> values) {
        String verify = values.get("ssl.verify").trim().toLowerCase(Locale.ROOT);
        if (!verify.equals("none") && !verify.equals("peer")) {
            throw new IllegalArgumentException("ssl.verify must be 'none' or 'peer', got '" + verify + "'");
        }
        String port = values.get("ssl.port").trim();
        return new TlsSettings(
                port.isEmpty() ? UNSET : Integer.parseInt(port),
                values.get("ssl.certfile"),
                values.get("ssl.keyfile"),
                values.get("ssl.keystore"),
                values.get("ssl.keystore_password"),
                values.get("ssl.cacertfile"),
                verify.equals("peer"),
                ServerConfig.parseBoolean(values.get("ssl.fail_if_no_peer_cert")),
                ServerConfig.parseBoolean(values.get("management.ssl")));
    }
}
