package dev.courier.server.auth;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.courier.cluster.meta.MetaBatch;
import dev.courier.cluster.meta.MetaChange;
import dev.courier.cluster.meta.MetaOp;
import dev.courier.cluster.meta.MetaResult;
import dev.courier.cluster.meta.ReplicatedMetadata;
import dev.courier.store.MessageStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
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
 *
 * <p>In a cluster ({@link #replicated()}) the cluster's metadata group holds them instead, under
 * the same keys and values as the store ({@code user/NAME}, {@code permission/VHOST\0USER}, JSON,
 * and {@code users-initialized}): a change is proposed to the group and blocks (management API
 * threads only) until the group applied it on this node; every node applies every change through
 * {@link #changed} and {@link #restored}, on the group's apply thread. The first node to start a
 * new cluster creates the default user there, once for the whole cluster; the local store is
 * neither read nor written for users.
 */
public final class UserDatabase {
    private static final Logger LOG = LoggerFactory.getLogger(UserDatabase.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String USER = "user/";
    private static final String PERMISSION = "permission/";
    private static final String INITIALIZED = "users-initialized";

    private final MessageStore store;
    private final boolean clustered;
    private volatile ReplicatedMetadata meta;
    private final Map<String, User> users = new ConcurrentHashMap<>();
    /** Keyed by {@code vhost + '\0' + user}. */
    private final Map<String, Permission> permissions = new ConcurrentHashMap<>();

    private UserDatabase(MessageStore store, boolean clustered) {
        this.store = store;
        this.clustered = clustered;
    }

    /** An empty database filled by the cluster's metadata group ({@link #changed}, {@link #restored}). */
    public static UserDatabase replicated() {
        return new UserDatabase(null, true);
    }

    /** Whether a metadata key is this database's. */
    public static boolean owns(String key) {
        return key.startsWith(USER) || key.startsWith(PERMISSION) || key.equals(INITIALIZED);
    }

    /**
     * Starts proposing changes through the running metadata group and, unless the cluster already
     * has users, creates the default user (administrator, full permissions on {@code /}) there
     * together with {@code alsoOnce} (e.g. the default vhost's definition). Waits a while for a
     * majority; without one it logs a warning and the cluster stays uninitialized until a later
     * start. Answers whether the proposal was applied here (accepted or not), i.e. whether this node
     * has caught up with the group.
     */
    public boolean attach(
            ReplicatedMetadata running, String defaultUser, String defaultPassword, List<MetaOp> alsoOnce) {
        this.meta = running;
        List<MetaOp> ops = new ArrayList<>();
        ops.add(new MetaOp.ExpectNoPrefix(INITIALIZED));
        ops.add(new MetaOp.Put(INITIALIZED, new byte[] {1}));
        if (defaultUser != null && !defaultUser.isEmpty()) {
            User user = new User(defaultUser, PasswordHash.create(defaultPassword), List.of(User.ADMINISTRATOR));
            ops.add(new MetaOp.Put(USER + defaultUser, json(user)));
            ops.add(new MetaOp.Put(
                    PERMISSION + permissionKey("/", defaultUser),
                    json(permissionJson(
                            new Permission(defaultUser, "/", Permission.ALL, Permission.ALL, Permission.ALL)))));
        }
        ops.addAll(alsoOnce);
        try {
            if (propose(ops).applied()) {
                LOG.info(
                        "initialized the cluster's users: default user '{}' (administrator, full permissions on vhost '/')",
                        defaultUser);
            }
            return true;
        } catch (IllegalStateException e) {
            LOG.warn("could not initialize the cluster's users: {}", e.getMessage());
            return false;
        }
    }

    /**
     * Loads users and permissions from what {@code store} recovered; call before anything releases
     * the recovered state. {@code store} may be null for a memory-only database (tests).
     */
    public static UserDatabase open(MessageStore store, String defaultUser, String defaultPassword) {
        UserDatabase db = new UserDatabase(store, false);
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
    public User putUser(String name, String password, List<String> tags) {
        String hash = password == null ? "" : PasswordHash.create(password);
        User user = new User(name, hash, tags);
        if (clustered) {
            propose(List.of(new MetaOp.Put(USER + name, json(user))));
            return user;
        }
        synchronized (this) {
            users.put(name, user);
            write(USER + name, user);
        }
        return user;
    }

    /** Changes a user's tags and keeps the password. */
    public User retag(String name, List<String> tags) {
        User existing = users.get(name);
        if (existing == null) {
            throw new IllegalArgumentException("no user '" + name + "'");
        }
        User user = new User(name, existing.passwordHash(), tags);
        if (clustered) {
            if (!propose(List.of(new MetaOp.ExpectPresent(USER + name), new MetaOp.Put(USER + name, json(user))))
                    .applied()) {
                throw new IllegalArgumentException("no user '" + name + "'");
            }
            return user;
        }
        synchronized (this) {
            users.put(name, user);
            write(USER + name, user);
        }
        return user;
    }

    /** Deletes a user and its permissions; false when there was none. */
    public boolean deleteUser(String name) {
        if (clustered) {
            if (!users.containsKey(name)) {
                return false;
            }
            List<MetaOp> ops = new ArrayList<>();
            ops.add(new MetaOp.Delete(USER + name));
            for (Permission permission : permissions.values()) {
                if (permission.user().equals(name)) {
                    ops.add(new MetaOp.Delete(PERMISSION + permissionKey(permission.vhost(), name)));
                }
            }
            propose(ops);
            return true;
        }
        synchronized (this) {
            return deleteLocalUser(name);
        }
    }

    // Monitor should be held.
    private boolean deleteLocalUser(String name) {
        if (users.remove(name) == null) {
            return false;
        }
        delete(USER + name);
        for (Permission permission : List.copyOf(permissions.values())) {
            if (permission.user().equals(name)) {
                String key = permissionKey(permission.vhost(), name);
                permissions.remove(key);
                delete(PERMISSION + key);
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

    public void setPermission(Permission permission) {
        if (!users.containsKey(permission.user())) {
            throw new IllegalArgumentException("no user '" + permission.user() + "'");
        }
        String key = PERMISSION + permissionKey(permission.vhost(), permission.user());
        if (clustered) {
            MetaResult result = propose(List.of(
                    new MetaOp.ExpectPresent(USER + permission.user()),
                    new MetaOp.Put(key, json(permissionJson(permission)))));
            if (!result.applied()) {
                throw new IllegalArgumentException("no user '" + permission.user() + "'");
            }
            return;
        }
        synchronized (this) {
            permissions.put(permissionKey(permission.vhost(), permission.user()), permission);
            write(key, permissionJson(permission));
        }
    }

    private static Map<String, Object> permissionJson(Permission permission) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("user", permission.user());
        json.put("vhost", permission.vhost());
        json.put("configure", permission.configure());
        json.put("write", permission.write());
        json.put("read", permission.read());
        return json;
    }

    public boolean clearPermission(String vhost, String user) {
        String key = permissionKey(vhost, user);
        if (clustered) {
            if (!permissions.containsKey(key)) {
                return false;
            }
            propose(List.of(new MetaOp.Delete(PERMISSION + key)));
            return true;
        }
        synchronized (this) {
            if (permissions.remove(key) == null) {
                return false;
            }
            delete(PERMISSION + key);
            return true;
        }
    }

    // ---------------------------------------------------------------- cluster

    /** Proposes a batch and waits until it is applied here; never holds this object's monitor. */
    private MetaResult propose(List<MetaOp> ops) {
        ReplicatedMetadata running = meta;
        if (running == null) {
            throw new IllegalStateException("the cluster's metadata group is not running yet");
        }
        return ReplicatedMetadata.await(running.submit(new MetaBatch(ops)));
    }

    /** The metadata group applied a batch: takes over the changes of users and permissions (apply thread). */
    public void changed(List<MetaChange> changes) {
        for (MetaChange change : changes) {
            String key = change.key();
            if (key.startsWith(USER)) {
                if (change.removed()) {
                    users.remove(key.substring(USER.length()));
                } else {
                    User user = readUser(change.value());
                    users.put(user.name(), user);
                }
            } else if (key.startsWith(PERMISSION)) {
                if (change.removed()) {
                    permissions.remove(key.substring(PERMISSION.length()));
                } else {
                    Permission permission = readPermission(change.value());
                    permissions.put(permissionKey(permission.vhost(), permission.user()), permission);
                }
            }
        }
    }

    /** The metadata group was restored from a snapshot: these are now all users and permissions. */
    public void restored(SortedMap<String, byte[]> map) {
        Map<String, User> readUsers = new LinkedHashMap<>();
        Map<String, Permission> readPermissions = new LinkedHashMap<>();
        map.forEach((key, value) -> {
            if (key.startsWith(USER)) {
                User user = readUser(value);
                readUsers.put(user.name(), user);
            } else if (key.startsWith(PERMISSION)) {
                Permission permission = readPermission(value);
                readPermissions.put(permissionKey(permission.vhost(), permission.user()), permission);
            }
        });
        users.keySet().retainAll(readUsers.keySet());
        users.putAll(readUsers);
        permissions.keySet().retainAll(readPermissions.keySet());
        permissions.putAll(readPermissions);
    }

    private static byte[] json(Object value) {
        try {
            return JSON.writeValueAsBytes(value);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
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
