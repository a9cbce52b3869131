package dev.courier.server.amqp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.courier.protocol.FieldTables;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AuthenticatorTest {
    private static final InetSocketAddress LOOPBACK = new InetSocketAddress("127.0.0.1", 40000);
    private static final InetSocketAddress REMOTE = new InetSocketAddress("192.0.2.10", 40000);

    private final Authenticator loopbackOnly = new Authenticator("guest", "guest", true);

    private static byte[] plain(String user, String password) {
        return ("\0" + user + "\0" + password).getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] amqPlain(String user, String password) {
        Map<String, Object> table = new LinkedHashMap<>();
        table.put("LOGIN", user);
        table.put("PASSWORD", password);
        ByteBuf buffer = Unpooled.buffer();
        FieldTables.write(buffer, table);
        buffer.skipBytes(4); // AMQPLAIN sends the table without its length
        byte[] bytes = new byte[buffer.readableBytes()];
        buffer.readBytes(bytes);
        buffer.release();
        return bytes;
    }

    @Test
    void shouldAcceptPlainAndAmqPlainFromLoopback() throws Exception {
        assertThat(loopbackOnly.authenticate("PLAIN", plain("guest", "guest"), LOOPBACK))
                .isEqualTo("guest");
        assertThat(loopbackOnly.authenticate("AMQPLAIN", amqPlain("guest", "guest"), LOOPBACK))
                .isEqualTo("guest");
    }

    @Test
    void shouldRefuseTheDefaultUserFromARemoteAddressLikeRabbitMq() {
        assertThatThrownBy(() -> loopbackOnly.authenticate("PLAIN", plain("guest", "guest"), REMOTE))
                .hasMessageContaining("can only connect via localhost");
        Authenticator anywhere = new Authenticator("guest", "guest", false);
        try {
            assertThat(anywhere.authenticate("PLAIN", plain("guest", "guest"), REMOTE))
                    .isEqualTo("guest");
        } catch (Authenticator.LoginRefused e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void shouldRefuseWrongPasswordsUnknownMechanismsAndGarbageWithoutEchoingThePassword() {
        assertThatThrownBy(() -> loopbackOnly.authenticate("PLAIN", plain("guest", "s3cret"), LOOPBACK))
                .hasMessageContaining("Login was refused")
                .hasMessageNotContaining("s3cret");
        assertThatThrownBy(() -> loopbackOnly.authenticate("CRAM-MD5", new byte[0], LOOPBACK))
                .hasMessageContaining("unsupported authentication mechanism");
        assertThatThrownBy(() -> loopbackOnly.authenticate("EXTERNAL", new byte[0], LOOPBACK))
                .hasMessageContaining("EXTERNAL needs a verified TLS client certificate");
        assertThatThrownBy(() -> loopbackOnly.authenticate("EXTERNAL", new byte[0], LOOPBACK, "mallory"))
                .hasMessageContaining("no user 'mallory'");
        assertThatThrownBy(() -> loopbackOnly.authenticate("PLAIN", new byte[] {1, 2}, LOOPBACK))
                .hasMessageContaining("malformed");
        assertThatThrownBy(() -> loopbackOnly.authenticate("AMQPLAIN", new byte[] {9, 9, 9}, LOOPBACK))
                .hasMessageContaining("malformed");
    }
}
