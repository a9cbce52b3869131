package dev.courier.server.auth;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.courier.store.MessageStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Users and their per-vhost permissions, kept in the message store's metadata (so they are
 * durable, written through the same fsynced log) and in memory for logins and checks.
 *
 * <p>On the very first start the default user from the config ({@code default_user} /
 * {@code default_pass}, guest/guest) is created as an administrator with full permissions on
 * {@code /}; an empty {@code default_user} creates nobody. Deleting the default user is
 * remembered: it does not come back at the next start. Reads are lock-free; changes are
 * serialized.
 */
public final class UserDatabase {
    private static final Logger LOG = LoggerFactory.getLogger(UserDatabase.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String USER = "user/";
    private static final String PERMISSION = "permission/";
    private static final String INITIALIZED = "users-initialized";

    private final MessageStore store;
    private final Map<String, User> users = new ConcurrentHashMap<>();
    /** Keyed by {@code vhost + '\0' + user}. */
    private final Map<String, Permission> permissions = new ConcurrentHashMap<>();

    private UserDatabase(MessageStore store) {
        this.store = store;
    }

    /**
     * Loads users and permissions from what {@code store} recovered; call before anything releases
     * the recovered state. {@code store} may be null for a memory-only database (tests).
     */
    public static UserDatabase open(MessageStore store, String defaultUser, String defaultPassword) {
        UserDatabase db = new UserDatabase(store);
        boolean initialized = false;
        if (store != null) {
            for (Map.Entry<String, byte[]> entry : store.recovered().metadata().entrySet()) {
                String key = entry.getKey();
                if (key.equals(INITIALIZED)) {
                    initialized = true;
                } else if (key.startsWith(USER)) {
                    User user = db.readUser(entry.getValue());
                    db.users.put(user.name(), user);
                } else if (key.startsWith(PERMISSION)) {
                    Permission permission = db.readPermission(entry.getValue());
                    db.permissions.put(permissionKey(permission.vhost(), permission.user()), permission);
                }
            }
        }
        if (!initialized) {
            if (defaultUser != null && !defaultUser.isEmpty()) {
                db.putUser(defaultUser, defaultPassword, List.of(User.ADMINISTRATOR));
                db.setPermission(new Permission(defaultUser, "/", Permission.ALL, Permission.ALL, Permission.ALL));
                LOG.info("created the default user '{}' (administrator, full permissions on vhost '/')", defaultUser);
            }
            if (store != null) {
                store.putMetadata(INITIALIZED, new byte[] {1});
            }
        }
        LOG.info("{} user(s), {} permission(s)", db.users.size(), db.permissions.size());
        return db;
    }

    public User user(String name) {
        return users.get(name);
    }

    public List<User> users() {
        List<User> out = new ArrayList<>(users.values());
        out.sort(Comparator.comparing(User::name));
        return out;
    }

    /** Creates or replaces a user, hashing {@code password} (null: a user that cannot log in with a password). */
    public synchronized User putUser(String name, String password, List<String> tags) {
        String hash = password == null ? "" : PasswordHash.create(password);
        User user = new User(name, hash, tags);
        users.put(name, user);
        write(USER + name, user);
        return user;
    }

    /** Changes a user's tags and keeps the password. */
    public synchronized User retag(String name, List<String> tags) {
        User existing = users.get(name);
        if (existing == null) {
            throw new IllegalArgumentException("no user '" + name + "'");
        }
        User user = new User(name, existing.passwordHash(), tags);
        users.put(name, user);
        write(USER + name, user);
        return user;
    }

    /** Deletes a user and its permissions; false when there was none. */
    public synchronized boolean deleteUser(String name) {
        if (users.remove(name) == null) {
            return false;
        }
        delete(USER + name);
        for (Permission permission : List.copyOf(permissions.values())) {
            if (permission.user().equals(name)) {
                clearPermission(permission.vhost(), name);
            }
        }
        return true;
    }

    /** The user's permission in {@code vhost}, or null: no access. */
    public Permission permission(String vhost, String user) {
        return permissions.get(permissionKey(vhost, user));
    }

    public List<Permission> permissions() {
        List<Permission> out = new ArrayList<>(permissions.values());
        out.sort(Comparator.comparing(Permission::vhost).thenComparing(Permission::user));
        return out;
    }

    public synchronized void setPermission(Permission permission) {
        if (!users.containsKey(permission.user())) {
            throw new IllegalArgumentException("no user '" + permission.user() + "'");
        }
        permissions.put(permissionKey(permission.vhost(), permission.user()), permission);
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("user", permission.user());
        json.put("vhost", permission.vhost());
        json.put("configure", permission.configure());
        json.put("write", permission.write());
        json.put("read", permission.read());
        write(PERMISSION + permissionKey(permission.vhost(), permission.user()), json);
    }

    public synchronized boolean clearPermission(String vhost, String user) {
        String key = permissionKey(vhost, user);
        if (permissions.remove(key) == null) {
            return false;
        }
        delete(PERMISSION + key);
        return true;
    }

    private static String permissionKey(String vhost, String user) {
        return vhost + '\u0000' + user;
    }

    private void write(String key, Object value) {
        if (store == null) {
            return;
        }
        try {
            store.putMetadata(key, JSON.writeValueAsBytes(value));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void delete(String key) {
        if (store != null) {
            store.deleteMetadata(key);
        }
    }

    private User readUser(byte[] bytes) {
        try {
            return JSON.readValue(bytes, User.class);
        } catch (IOException e) {
            throw new UncheckedIOException("a stored user record is unreadable", e);
        }
    }

    private Permission readPermission(byte[] bytes) {
        try {
            Map<String, String> p = JSON.readValue(bytes, new TypeReference<Map<String, String>>() {});
            return new Permission(p.get("user"), p.get("vhost"), p.get("configure"), p.get("write"), p.get("read"));
        } catch (IOException e) {
            throw new UncheckedIOException("a stored permission record is unreadable", e);
        }
    }
}
