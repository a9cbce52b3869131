package dev.courier.server.auth;

import java.util.List;

/**
 * A broker user: a name, a salted password hash ({@link PasswordHash}) and RabbitMQ's tags
 * ({@code administrator}, {@code monitoring}, {@code management}, ...). Immutable.
 */
public record User(String name, String passwordHash, List<String> tags) {
    public static final String ADMINISTRATOR = "administrator";
    public static final String MONITORING = "monitoring";
    public static final String MANAGEMENT = "management";

    public User {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("a user needs a name");
        }
        tags = List.copyOf(tags);
    }

    public boolean hasTag(String tag) {
        return tags.contains(tag);
    }

    /** May use the management API at all (RabbitMQ: any of the management tags). */
    public boolean canUseManagement() {
        return hasTag(ADMINISTRATOR) || hasTag(MONITORING) || hasTag(MANAGEMENT) || hasTag("policymaker");
    }
}
