package dev.courier.wire;

import static dev.courier.wire.Wire.bytes;
import static dev.courier.wire.Wire.text;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import dev.courier.server.CourierServer;
import dev.courier.server.ServerConfig;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.util.Base64;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** AMQPS and HTTPS from a PKCS#12 key store or PEM files; plain AMQP keeps working beside it. */
class TlsTest {
    static {
        LeakTracker.install();
    }

    private static final String PASSWORD = "changeit";

    @TempDir
    static Path certs;

    private static Path keyStore;
    private static Path certPem;
    private static Path keyPem;

    @TempDir
    Path dataDir;

    /** A self-signed certificate for localhost/127.0.0.1 made with the JDK's keytool, also written as PEM. */
    @BeforeAll
    static void makeCertificate() throws Exception {
        keyStore = certs.resolve("server.p12");
        Path keytool = Path.of(System.getProperty("java.home"), "bin", "keytool");
        Process process = new ProcessBuilder(
                        keytool.toString(),
                        "-genkeypair",
                        "-alias",
                        "courier",
                        "-keyalg",
                        "RSA",
                        "-keysize",
                        "2048",
                        "-dname",
                        "CN=localhost",
                        "-ext",
                        "SAN=ip:127.0.0.1,dns:localhost",
                        "-validity",
                        "2",
                        "-storetype",
                        "PKCS12",
                        "-keystore",
                        keyStore.toString(),
                        "-storepass",
                        PASSWORD)
                .redirectErrorStream(true)
                .start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(process.exitValue()).as(output).isZero();

        KeyStore store = loadKeyStore();
        certPem = certs.resolve("server.pem");
        keyPem = certs.resolve("server.key");
        Files.writeString(
                certPem, pem("CERTIFICATE", store.getCertificate("courier").getEncoded()));
        Files.writeString(
                keyPem,
                pem(
                        "PRIVATE KEY",
                        store.getKey("courier", PASSWORD.toCharArray()).getEncoded()));
    }

    private static KeyStore loadKeyStore() throws Exception {
        KeyStore store = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(keyStore)) {
            store.load(in, PASSWORD.toCharArray());
        }
        return store;
    }

    private static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                        .encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }

    /** A client context that trusts exactly our self-signed certificate. */
    private static SSLContext trustingOurCertificate() throws Exception {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        Certificate certificate = loadKeyStore().getCertificate("courier");
        trust.setCertificateEntry("courier", certificate);
        TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        factory.init(trust);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, factory.getTrustManagers(), null);
        return context;
    }

    private CourierServer start(ServerConfig tls) throws Exception {
        return CourierServer.start(tls.withAmqpPort(0).withHttpPort(0).withDataDir(dataDir));
    }

    private static void roundTrip(Connection connection, String body) throws IOException {
        Channel channel = connection.createChannel();
        String queue = channel.queueDeclare().getQueue();
        channel.basicPublish("", queue, null, bytes(body));
        assertThat(text(Wire.getEventually(channel, queue).getBody())).isEqualTo(body);
    }

    @Test
    void shouldServeAmqpsFromAKeyStoreBesidePlainAmqp() throws Exception {
        ServerConfig config = ServerConfig.defaults()
                .with("ssl.keystore", keyStore.toString())
                .with("ssl.keystore_password", PASSWORD)
                .with("ssl.port", "0");
        try (CourierServer server = start(config)) {
            assertThat(server.amqpsPort()).isPositive();
            ConnectionFactory factory = new ConnectionFactory();
            factory.setPort(server.amqpsPort());
            factory.useSslProtocol(trustingOurCertificate());
            factory.enableHostnameVerification();
            factory.setAutomaticRecoveryEnabled(false);
            try (Connection connection = factory.newConnection()) {
                roundTrip(connection, "over TLS");
            }

            ConnectionFactory plain = new ConnectionFactory();
            plain.setPort(server.amqpPort());
            try (Connection connection = plain.newConnection()) {
                roundTrip(connection, "in the clear");
            }

            ConnectionFactory plainToTls = new ConnectionFactory();
            plainToTls.setPort(server.amqpsPort());
            plainToTls.setConnectionTimeout(5_000);
            plainToTls.setHandshakeTimeout(5_000);
            assertThatThrownBy(plainToTls::newConnection).isInstanceOf(Exception.class);
        }
    }

    @Test
    void shouldServeAmqpsAndHttpsFromPemFiles() throws Exception {
        ServerConfig config = ServerConfig.defaults()
                .with("ssl.certfile", certPem.toString())
                .with("ssl.keyfile", keyPem.toString())
                .with("ssl.port", "0")
                .with("management.ssl", "true");
        try (CourierServer server = start(config)) {
            ConnectionFactory factory = new ConnectionFactory();
            factory.setPort(server.amqpsPort());
            factory.useSslProtocol(trustingOurCertificate());
            try (Connection connection = factory.newConnection()) {
                roundTrip(connection, "PEM");
            }
            HttpClient https =
                    HttpClient.newBuilder().sslContext(trustingOurCertificate()).build();
            HttpResponse<String> overview = https.send(
                    HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + server.httpPort() + "/api/whoami"))
                            .header(
                                    "Authorization",
                                    "Basic "
                                            + Base64.getEncoder()
                                                    .encodeToString("guest:guest".getBytes(StandardCharsets.UTF_8)))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(overview.statusCode()).isEqualTo(200);
            assertThat(overview.body()).contains("guest");
        }
    }

    @Test
    void shouldLogInWithAClientCertificateThroughExternal() throws Exception {
        Path clientStore = certs.resolve("alice.p12");
        Path keytool = Path.of(System.getProperty("java.home"), "bin", "keytool");
        Process process = new ProcessBuilder(
                        keytool.toString(),
                        "-genkeypair",
                        "-alias",
                        "alice",
                        "-keyalg",
                        "RSA",
                        "-keysize",
                        "2048",
                        "-dname",
                        "CN=alice,O=Courier Tests",
                        "-validity",
                        "2",
                        "-storetype",
                        "PKCS12",
                        "-keystore",
                        clientStore.toString(),
                        "-storepass",
                        PASSWORD)
                .redirectErrorStream(true)
                .start();
        process.getInputStream().readAllBytes();
        assertThat(process.waitFor(60, TimeUnit.SECONDS) && process.exitValue() == 0)
                .isTrue();
        KeyStore client = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(clientStore)) {
            client.load(in, PASSWORD.toCharArray());
        }
        Path clientCa = certs.resolve("alice-ca.pem");
        Files.writeString(
                clientCa, pem("CERTIFICATE", client.getCertificate("alice").getEncoded()));

        ServerConfig config = ServerConfig.defaults()
                .with("ssl.keystore", keyStore.toString())
                .with("ssl.keystore_password", PASSWORD)
                .with("ssl.port", "0")
                .with("ssl.verify", "peer")
                .with("ssl.cacertfile", clientCa.toString());
        try (CourierServer server = start(config)) {
            server.users().putUser("alice", null, java.util.List.of());
            server.users().setPermission(new dev.courier.server.auth.Permission("alice", "/", ".*", ".*", ".*"));

            javax.net.ssl.KeyManagerFactory keys =
                    javax.net.ssl.KeyManagerFactory.getInstance(javax.net.ssl.KeyManagerFactory.getDefaultAlgorithm());
            keys.init(client, PASSWORD.toCharArray());
            SSLContext mutual = SSLContext.getInstance("TLS");
            TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            KeyStore serverCert = KeyStore.getInstance("PKCS12");
            serverCert.load(null, null);
            serverCert.setCertificateEntry("courier", loadKeyStore().getCertificate("courier"));
            trust.init(serverCert);
            mutual.init(keys.getKeyManagers(), trust.getTrustManagers(), null);

            ConnectionFactory factory = new ConnectionFactory();
            factory.setPort(server.amqpsPort());
            factory.useSslProtocol(mutual);
            factory.setSaslConfig(com.rabbitmq.client.DefaultSaslConfig.EXTERNAL);
            try (Connection connection = factory.newConnection()) {
                roundTrip(connection, "as alice, by certificate");
            }

            ConnectionFactory withoutCertificate = new ConnectionFactory();
            withoutCertificate.setPort(server.amqpsPort());
            withoutCertificate.useSslProtocol(trustingOurCertificate());
            withoutCertificate.setSaslConfig(com.rabbitmq.client.DefaultSaslConfig.EXTERNAL);
            assertThatThrownBy(withoutCertificate::newConnection)
                    .as("EXTERNAL is not offered without a client certificate")
                    .isInstanceOf(Exception.class);
            withoutCertificate.setSaslConfig(com.rabbitmq.client.DefaultSaslConfig.PLAIN);
            try (Connection connection = withoutCertificate.newConnection()) {
                roundTrip(connection, "password login still works (the certificate is optional)");
            }
        }
    }

    @Test
    void shouldRefuseToStartWithMissingOrWrongTlsFilesNamingThem() {
        assertThatThrownBy(() -> start(ServerConfig.defaults()
                        .with("ssl.keystore", keyStore.toString())
                        .with("ssl.keystore_password", "wrong")
                        .with("ssl.port", "0")))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("ssl.keystore")
                .hasMessageContaining("password");
        assertThatThrownBy(() -> start(ServerConfig.defaults()
                        .with("ssl.certfile", certs.resolve("missing.pem").toString())
                        .with("ssl.keyfile", keyPem.toString())
                        .with("ssl.port", "0")))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("ssl.certfile")
                .hasMessageContaining("missing.pem");
        assertThatThrownBy(() -> start(ServerConfig.defaults().with("ssl.port", "0")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("TLS needs a certificate");
    }
}
