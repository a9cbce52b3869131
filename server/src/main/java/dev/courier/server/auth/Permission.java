package dev.courier.server.auth;

import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * RabbitMQ's permissions of one user in one virtual host: three regular expressions matched
 * against whole resource names (an empty expression matches nothing). The default exchange is
 * matched as {@code amq.default}. Immutable; the expressions are compiled once.
 */
public final class Permission {
    /** Every resource. */
    public static final String ALL = ".*";

    /** What an operation needs on a resource. */
    public enum Access {
        CONFIGURE,
        WRITE,
        READ
    }

    private final String user;
    private final String vhost;
    private final String configure;
    private final String write;
    private final String read;
    private final Pattern[] patterns;

    public Permission(String user, String vhost, String configure, String write, String read) {
        this.user = user;
        this.vhost = vhost;
        this.configure = configure;
        this.write = write;
        this.read = read;
        this.patterns = new Pattern[] {compile(configure), compile(write), compile(read)};
    }

    public String user() {
        return user;
    }

    public String vhost() {
        return vhost;
    }

    public String configure() {
        return configure;
    }

    public String write() {
        return write;
    }

    public String read() {
        return read;
    }

    /**
     * RabbitMQ's text for a refused {@code access} to the {@code kind} (queue, exchange) named
     * {@code name}, the default exchange ({@code ""}) named {@code amq.default}.
     */
    public static String refusal(Access access, String kind, String name, String vhost, String user) {
        return access.name().toLowerCase(java.util.Locale.ROOT) + " access to " + kind + " '"
                + (name.isEmpty() ? "amq.default" : name) + "' in vhost '" + vhost + "' refused for user '" + user
                + "'";
    }

    /** Whether the user may do {@code access} on the resource named {@code name}. */
    public boolean allows(Access access, String name) {
        Pattern pattern = patterns[access.ordinal()];
        return pattern != null
                && pattern.matcher(name.isEmpty() ? "amq.default" : name).matches();
    }

    private static Pattern compile(String expression) {
        if (expression == null) {
            throw new IllegalArgumentException("a permission needs configure, write and read expressions");
        }
        if (expression.isEmpty()) {
            return null;
        }
        try {
            return Pattern.compile(expression);
        } catch (PatternSyntaxException e) {
            throw new IllegalArgumentException(
                    "invalid regular expression '" + expression + "': " + e.getDescription());
        }
    }
}
