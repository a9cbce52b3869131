package dev.courier.server;

import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import javax.net.ssl.KeyManagerFactory;

/** Builds the server's TLS context from {@link TlsSettings}, with errors that name the file at fault. */
final class TlsContexts {
    private TlsContexts() {}

    /**
     * @throws IOException when a file is missing or unreadable, a password is wrong or a PEM file
     *     does not hold what it should
     * @throws IllegalArgumentException when the keys do not fit together
     */
    static SslContext server(TlsSettings tls) throws IOException {
        tls.validate();
        SslContextBuilder builder;
        if (!tls.keyStore().isEmpty()) {
            builder = SslContextBuilder.forServer(keyManagers(tls));
        } else {
            File cert = existing(tls.certFile(), "ssl.certfile");
            File key = existing(tls.keyFile(), "ssl.keyfile");
            try {
                builder = SslContextBuilder.forServer(cert, key);
            } catch (IllegalArgumentException e) {
                throw new IOException(
                        "cannot use ssl.certfile " + cert + " with ssl.keyfile " + key
                                + " (PEM certificate and PKCS#8 key expected): " + e.getMessage(),
                        e);
            }
        }
        if (tls.verifyPeer()) {
            builder.trustManager(existing(tls.caCertFile(), "ssl.cacertfile"))
                    .clientAuth(tls.failIfNoPeerCert() ? ClientAuth.REQUIRE : ClientAuth.OPTIONAL);
        }
        builder.protocols("TLSv1.3", "TLSv1.2");
        try {
            return builder.build();
        } catch (IOException | RuntimeException e) {
            throw new IOException("cannot set up TLS: " + e.getMessage(), e);
        }
    }

    private static KeyManagerFactory keyManagers(TlsSettings tls) throws IOException {
        File file = existing(tls.keyStore(), "ssl.keystore");
        char[] password = tls.keyStorePassword().toCharArray();
        try (InputStream in = Files.newInputStream(file.toPath())) {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(in, password);
            KeyManagerFactory factory = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            factory.init(store, password);
            return factory;
        } catch (IOException | GeneralSecurityException e) {
            throw new IOException(
                    "cannot read ssl.keystore " + file + " (PKCS#12; is ssl.keystore_password right?): "
                            + e.getMessage(),
                    e);
        }
    }

    private static File existing(String path, String key) throws IOException {
        Path file = Path.of(path);
        if (!Files.isReadable(file)) {
            throw new IOException(key + " " + file.toAbsolutePath() + " does not exist or is not readable");
        }
        return file.toFile();
    }
}
