package dev.courier.server.amqp;

import dev.courier.protocol.FieldTables;
import dev.courier.server.auth.PasswordHash;
import dev.courier.server.auth.User;
import dev.courier.server.auth.UserDatabase;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Map;

/**
 * Checks the SASL response of connection.start-ok against the configured user.
 *
 * <p>Supports PLAIN ({@code \0user\0password}) and AMQPLAIN (a field table without its length
 * prefix holding LOGIN and PASSWORD), the two mechanisms RabbitMQ offers by default. Like
 * RabbitMQ, the default user may be restricted to loopback clients. Thread-safe and immutable.
 */
public final class Authenticator {
    /** The mechanisms advertised in connection.start, space separated. */
    static final String MECHANISMS = "AMQPLAIN PLAIN";

    /**
     * The mechanism the nodes of a cluster log in to each other with (not advertised): the
     * response is the node's id, a NUL byte and the cluster's secret (see {@link #clusterSecret}).
     */
    public static final String NODE_MECHANISM = "COURIER-NODE";

    /** The user name a node link is logged in as. */
    static final String NODE_USER_PREFIX = "courier-node:";

    private final UserDatabase users;
    private final String loopbackUser;
    /** Stored password hash to the SHA-256 of the password that last matched it. */
    private final Map<String, byte[]> verified = new java.util.concurrent.ConcurrentHashMap<>();

    private volatile java.util.function.Supplier<byte[]> clusterSecret = () -> null;

    /**
     * @param loopbackUser the user allowed to log in from loopback addresses only (RabbitMQ's
     *     {@code loopback_users}: the default user), or null for none
     */
    public Authenticator(UserDatabase users, String loopbackUser) {
        this.users = users;
        this.loopbackUser = loopbackUser;
    }

    /** One user with this password and full permissions on {@code /}, in memory only (tests). */
    public Authenticator(String user, String password, boolean loopbackOnly) {
        this(UserDatabase.open(null, user, password), loopbackOnly ? user : null);
    }

    public UserDatabase users() {
        return users;
    }

    /**
     * In a cluster: the secret the other nodes prove themselves with (replicated to every node,
     * never sent to clients); null from the supplier while there is none yet.
     */
    public void clusterSecret(java.util.function.Supplier<byte[]> secret) {
        this.clusterSecret = secret;
    }

    /**
     * Why a login was refused: a message fit for the client and a detail for the broker's log,
     * neither containing the password.
     */
    public static final class LoginRefused extends Exception {
        private static final long serialVersionUID = 1L;

        private final String logText;

        LoginRefused(String text) {
            this(text, text);
        }

        LoginRefused(String text, String logText) {
            super(text, null, false, false);
            this.logText = logText;
        }

        /** What the broker logs: who tried and why it failed (the client is told less). */
        public String logText() {
            return logText;
        }
    }

    /**
     * Returns the authenticated user name.
     *
     * @throws LoginRefused when the mechanism is unknown, the response malformed, the credentials
     *     wrong or the user not allowed from {@code remote}
     */
    String authenticate(String mechanism, byte[] response, SocketAddress remote) throws LoginRefused {
        return authenticate(mechanism, response, remote, null);
    }

    /**
     * As {@link #authenticate(String, byte[], SocketAddress)}, plus EXTERNAL: the user named by
     * the common name (CN) of the client certificate that TLS verified, with no password.
     *
     * @param certificateUser the verified client certificate's CN, or null when there is none
     */
    String authenticate(String mechanism, byte[] response, SocketAddress remote, String certificateUser)
            throws LoginRefused {
        if (mechanism.equals("EXTERNAL")) {
            if (certificateUser == null) {
                throw new LoginRefused("EXTERNAL needs a verified TLS client certificate");
            }
            if (users.user(certificateUser) == null) {
                throw new LoginRefused("no user '" + certificateUser + "' for the client certificate's CN");
            }
            return certificateUser;
        }
        if (mechanism.equals(NODE_MECHANISM)) {
            return checkNode(response);
        }
        Credentials credentials =
                switch (mechanism) {
                    case "PLAIN" -> parsePlain(response);
                    case "AMQPLAIN" -> parseAmqPlain(response);
                    default ->
                        throw new LoginRefused(
                                "unsupported authentication mechanism '" + mechanism + "'; supported: " + MECHANISMS);
                };
        return check(credentials, "using authentication mechanism " + mechanism, remote);
    }

    /**
     * Checks a user name and password from another protocol (the management API's HTTP basic
     * auth); the same rules as an AMQP login.
     */
    public String login(String userName, String userPassword, SocketAddress remote) throws LoginRefused {
        return check(new Credentials(userName, userPassword), "for the management API", remote);
    }

    private String check(Credentials credentials, String how, SocketAddress remote) throws LoginRefused {
        User user = users.user(credentials.user());
        if (user == null || !passwordMatches(credentials.password(), user.passwordHash())) {
            // as RabbitMQ: the client is not told whether the user exists
            throw new LoginRefused(
                    "Login was refused " + how + ". For details see the broker logfile.",
                    "user '" + credentials.user() + "' - invalid credentials");
        }
        if (credentials.user().equals(loopbackUser) && !isLoopback(remote)) {
            throw new LoginRefused("user '" + credentials.user()
                    + "' can only connect via localhost; set loopback_users=false to allow remote logins");
        }
        return credentials.user();
    }

    /**
     * PBKDF2 is deliberately slow (milliseconds), and logins run on Netty event loops: every AMQP
     * connection and every management API request (the web page polls) would pay it. So once a
     * password has matched a stored hash, its SHA-256 is remembered (in memory only) under that
     * hash, and later attempts against the same hash compare digests. A changed password has a new
     * hash, so it is verified the slow way again.
     */
    private boolean passwordMatches(String password, String storedHash) {
        byte[] digest = sha256(password);
        byte[] known = verified.get(storedHash);
        if (known != null) {
            return MessageDigest.isEqual(known, digest);
        }
        if (!PasswordHash.matches(password, storedHash)) {
            return false;
        }
        verified.put(storedHash, digest);
        return true;
    }

    private static byte[] sha256(String password) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(password.getBytes(StandardCharsets.UTF_8));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }

    private record Credentials(String user, String password) {}

    private String checkNode(byte[] response) throws LoginRefused {
        byte[] secret = clusterSecret.get();
        int nul = indexOf(response, 0);
        if (secret == null || nul < 1) {
            throw new LoginRefused(
                    "unsupported authentication mechanism '" + NODE_MECHANISM + "'; supported: " + MECHANISMS);
        }
        String node = new String(response, 0, nul, StandardCharsets.UTF_8);
        byte[] offered = java.util.Arrays.copyOfRange(response, nul + 1, response.length);
        if (!MessageDigest.isEqual(secret, offered)) {
            throw new LoginRefused(
                    "Login was refused using authentication mechanism " + NODE_MECHANISM
                            + ". For details see the broker logfile.",
                    "node '" + node + "' - wrong cluster secret");
        }
        return NODE_USER_PREFIX + node;
    }

    private static Credentials parsePlain(byte[] response) throws LoginRefused {
        // RFC 4616: [authzid] NUL authcid NUL passwd
        int first = indexOf(response, 0);
        int second = first < 0 ? -1 : indexOf(response, first + 1);
        if (first < 0 || second < 0) {
            throw new LoginRefused("malformed PLAIN response");
        }
        String user = new String(response, first + 1, second - first - 1, StandardCharsets.UTF_8);
        String password = new String(response, second + 1, response.length - second - 1, StandardCharsets.UTF_8);
        return new Credentials(user, password);
    }

    private static Credentials parseAmqPlain(byte[] response) throws LoginRefused {
        ByteBuf buf = Unpooled.buffer(response.length + 4);
        try {
            buf.writeInt(response.length).writeBytes(response);
            Map<String, Object> table = FieldTables.read(buf);
            Object login = table.get("LOGIN");
            Object pass = table.get("PASSWORD");
            if (login == null || pass == null) {
                throw new LoginRefused("AMQPLAIN response lacks LOGIN or PASSWORD");
            }
            return new Credentials(stringOf(login), stringOf(pass));
        } catch (RuntimeException e) {
            throw new LoginRefused("malformed AMQPLAIN response");
        } finally {
            buf.release();
        }
    }

    private static String stringOf(Object value) {
        return value instanceof byte[] bytes ? new String(bytes, StandardCharsets.UTF_8) : value.toString();
    }

    private static int indexOf(byte[] bytes, int from) {
        for (int i = from; i < bytes.length; i++) {
            if (bytes[i] == 0) {
                return i;
            }
        }
        return -1;
    }

    private static boolean isLoopback(SocketAddress remote) {
        if (remote instanceof InetSocketAddress inet) {
            InetAddress address = inet.getAddress();
            return address != null && address.isLoopbackAddress();
        }
        // in-process transports (LocalChannel, EmbeddedChannel) are local by definition
        return true;
    }
}
