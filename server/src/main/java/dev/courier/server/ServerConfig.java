package dev.courier.server;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

/**
 * Everything the server needs to start, with the embedded defaults from DESIGN.md.
 *
 * <p>Every field is also a config key (see {@link #KEYS}) that can be set from a properties file
 * ({@code --config FILE}) or the command line ({@code --set key=value}).
 *
 * @param bindAddress address every listener binds to
 * @param amqpPort AMQP listener port; 0 picks a free port
 * @param httpPort management HTTP port; 0 picks a free port, -1 disables the listener
 * @param dataDir where durable state lives
 * @param frameMaxBytes the frame-max offered in connection.tune
 * @param channelMax the channel-max offered in connection.tune
 * @param heartbeatSeconds the heartbeat offered in connection.tune; 0 disables heartbeats
 * @param maxMessageSizeBytes largest message body accepted; larger ones close the channel with 406
 * @param largeMessageThresholdBytes bodies larger than this go to the store's blob area as they
 *     arrive and are streamed from it on delivery; queues hold only a reference
 * @param handshakeTimeoutMs how long a client may take from TCP connect to connection.open
 * @param defaultUser the user created on first start
 * @param defaultPassword that user's password
 * @param loopbackUsersOnly when true the default user may only log in from a loopback address
 * @param storeSegmentSizeBytes size of one message-store log segment
 * @param storePreallocate whether the next store segment is zero-filled ahead of use (faster
 *     fsyncs; every segment is written twice)
 * @param fsync {@code always} (a confirm means fsynced) or {@code batch-ms N} (fsync at most N ms
 *     after the write; RabbitMQ's trade-off, opt-in)
 * @param diskFreeLimitBytes below this much free space on the data disk, publishers are blocked
 * @param memoryHighWatermark above this fraction of the maximum heap in use, or of the direct-memory
 *     limit (message bodies), publishers are blocked
 * @param queueMemoryWindowMessages ready messages per queue kept in memory; persistent messages on
 *     durable queues beyond it stay on disk until they near the head
 * @param maxConnections most open client connections; 0 means no limit
 * @param maxQueues most queues per virtual host; 0 means no limit
 * @param consumerMaxPerChannel most consumers on one channel; 0 means no limit
 * @param logLevel level of the root logger set at start-up ({@code TRACE} .. {@code ERROR},
 *     {@code OFF}); empty leaves it to {@code -Dcourier.log.level} (default {@code INFO})
 * @param tls the {@code ssl.*} keys: AMQPS and HTTPS
 * @param cluster the {@code cluster.*} keys: node id and members
 */
public record ServerConfig(
        String bindAddress,
        int amqpPort,
        int httpPort,
        Path dataDir,
        int frameMaxBytes,
        int channelMax,
        int heartbeatSeconds,
        long maxMessageSizeBytes,
        long largeMessageThresholdBytes,
        long handshakeTimeoutMs,
        String defaultUser,
        String defaultPassword,
        boolean loopbackUsersOnly,
        long storeSegmentSizeBytes,
        boolean storePreallocate,
        String fsync,
        long diskFreeLimitBytes,
        double memoryHighWatermark,
        int queueMemoryWindowMessages,
        int maxConnections,
        int maxQueues,
        int consumerMaxPerChannel,
        String logLevel,
        TlsSettings tls,
        ClusterSettings cluster) {

    /** Config keys with their descriptions, as accepted by {@code --set key=value} and config files. */
    public static final Map<String, String> KEYS = withTlsKeys(Map.ofEntries(
            Map.entry("bind", "address every listener binds to (default 127.0.0.1)"),
            Map.entry("amqp.port", "AMQP port (default 5672; 0 = any free port)"),
            Map.entry("http.port", "management HTTP port (default 15672; 0 = any free port; -1 = off)"),
            Map.entry("data.dir", "data directory (default ./data)"),
            Map.entry("frame_max", "largest frame offered to clients in bytes (default 131072)"),
            Map.entry("channel_max", "most channels per connection (default 2047)"),
            Map.entry("heartbeat", "heartbeat offered to clients in seconds (default 60; 0 = off)"),
            Map.entry("max_message_size", "largest message body in bytes (default 134217728)"),
            Map.entry(
                    "large_message_threshold",
                    "bodies above this many bytes are stored as blobs and streamed (default 1048576)"),
            Map.entry("handshake_timeout", "ms a client may take to open a connection (default 10000)"),
            Map.entry("default_user", "administrator created on the first start (default guest; empty = none)"),
            Map.entry("default_pass", "that user's password (default guest)"),
            Map.entry("loopback_users", "true: the default user may log in from loopback only (default true)"),
            Map.entry("store.segment_size", "message store segment size in bytes (default 67108864)"),
            Map.entry(
                    "store.preallocate",
                    "true: zero-fill the next store segment ahead of use, for faster fsyncs (default true)"),
            Map.entry("fsync", "'always' (default: confirm after fsync) or 'batch-ms N' (fsync within N ms)"),
            Map.entry(
                    "disk_free_limit", "block publishers below this many free bytes on the data disk (default 1 GiB)"),
            Map.entry(
                    "memory_high_watermark",
                    "block publishers above this fraction of max heap, or of max direct memory, used (default 0.7)"),
            Map.entry(
                    "queue_memory_window",
                    "ready messages per queue kept in memory; stored ones beyond it are paged out (default 10000)"),
            Map.entry("max_connections", "most open client connections (default 0 = no limit)"),
            Map.entry("max_queues", "most queues per virtual host (default 0 = no limit)"),
            Map.entry("consumer_max_per_channel", "most consumers on one channel (default 0 = no limit)"),
            Map.entry(
                    "log.level",
                    "TRACE, DEBUG, INFO, WARN, ERROR or OFF: the log level from start-up"
                            + " (default: -Dcourier.log.level, else INFO)")));

    /** The values {@code log.level} accepts (Logback's levels), besides empty. */
    public static final java.util.List<String> LOG_LEVELS =
            java.util.List.of("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "OFF");

    private static Map<String, String> withTlsKeys(Map<String, String> keys) {
        Map<String, String> all = new TreeMap<>(keys);
        all.putAll(TlsSettings.KEYS);
        all.putAll(ClusterSettings.KEYS);
        return Map.copyOf(all);
    }

    /** Largest message size a user may configure: 512 MiB, as in RabbitMQ. */
    public static final long MAX_MESSAGE_SIZE_LIMIT_BYTES = 512L * 1024 * 1024;

    public ServerConfig {
        if (amqpPort < 0 || amqpPort > 65535) {
            throw new IllegalArgumentException("amqp.port must be 0..65535, got " + amqpPort);
        }
        if (httpPort < -1 || httpPort > 65535) {
            throw new IllegalArgumentException("http.port must be -1..65535, got " + httpPort);
        }
        if (frameMaxBytes != 0 && frameMaxBytes < 4096) {
            throw new IllegalArgumentException("frame_max must be 0 or at least 4096, got " + frameMaxBytes);
        }
        if (channelMax < 0 || channelMax > 65535) {
            throw new IllegalArgumentException("channel_max must be 0..65535, got " + channelMax);
        }
        if (heartbeatSeconds < 0 || heartbeatSeconds > 65535) {
            throw new IllegalArgumentException("heartbeat must be 0..65535, got " + heartbeatSeconds);
        }
        if (maxMessageSizeBytes < 1 || maxMessageSizeBytes > MAX_MESSAGE_SIZE_LIMIT_BYTES) {
            throw new IllegalArgumentException(
                    "max_message_size must be 1.." + MAX_MESSAGE_SIZE_LIMIT_BYTES + ", got " + maxMessageSizeBytes);
        }
        if (largeMessageThresholdBytes < 0) {
            throw new IllegalArgumentException(
                    "large_message_threshold must not be negative, got " + largeMessageThresholdBytes);
        }
        if (handshakeTimeoutMs < 1) {
            throw new IllegalArgumentException("handshake_timeout must be positive, got " + handshakeTimeoutMs);
        }
        if (storeSegmentSizeBytes < 64 * 1024 || storeSegmentSizeBytes > 1024L * 1024 * 1024) {
            throw new IllegalArgumentException(
                    "store.segment_size must be 65536..1073741824 bytes, got " + storeSegmentSizeBytes);
        }
        fsyncBatchMs(fsync); // validates
        if (diskFreeLimitBytes < 0) {
            throw new IllegalArgumentException("disk_free_limit must not be negative, got " + diskFreeLimitBytes);
        }
        if (queueMemoryWindowMessages < 1) {
            throw new IllegalArgumentException(
                    "queue_memory_window must be at least 1, got " + queueMemoryWindowMessages);
        }
        if (maxConnections < 0 || maxQueues < 0 || consumerMaxPerChannel < 0) {
            throw new IllegalArgumentException(
                    "max_connections, max_queues and consumer_max_per_channel must not be negative (0 = no limit)");
        }
        logLevel = logLevel.trim().toUpperCase(Locale.ROOT);
        if (!logLevel.isEmpty() && !LOG_LEVELS.contains(logLevel)) {
            throw new IllegalArgumentException(
                    "log.level must be one of " + String.join(", ", LOG_LEVELS) + ", got '" + logLevel + "'");
        }
        if (!(memoryHighWatermark > 0 && memoryHighWatermark <= 1)) {
            throw new IllegalArgumentException("memory_high_watermark must be in (0, 1], got " + memoryHighWatermark);
        }
    }

    /** -1 for {@code fsync=always}, else the N of {@code batch-ms N}. */
    public static long fsyncBatchMs(String fsync) {
        String value = fsync.trim();
        if (value.equals("always")) {
            return -1;
        }
        if (value.startsWith("batch-ms")) {
            try {
                long ms = Long.parseLong(value.substring("batch-ms".length()).trim());
                if (ms >= 0) {
                    return ms;
                }
            } catch (NumberFormatException e) {
                // falls through to the message below
            }
        }
        throw new IllegalArgumentException("fsync must be 'always' or 'batch-ms N' (N >= 0), got '" + fsync + "'");
    }

    /** The embedded defaults: loopback, 5672/15672, ./data, guest/guest from loopback only. */
    public static ServerConfig defaults() {
        return new ServerConfig(
                "127.0.0.1",
                5672,
                15672,
                Path.of("data"),
                131072,
                2047,
                60,
                128L * 1024 * 1024,
                1024L * 1024,
                10_000,
                "guest",
                "guest",
                true,
                64L * 1024 * 1024,
                true,
                "always",
                1024L * 1024 * 1024,
                0.7,
                10_000,
                0,
                0,
                0,
                "",
                TlsSettings.NONE,
                ClusterSettings.NONE);
    }

    public ServerConfig withBindAddress(String value) {
        return with("bind", value);
    }

    public ServerConfig withAmqpPort(int value) {
        return with("amqp.port", Integer.toString(value));
    }

    public ServerConfig withHttpPort(int value) {
        return with("http.port", Integer.toString(value));
    }

    public ServerConfig withDataDir(Path value) {
        return with("data.dir", value.toString());
    }

    public ServerConfig withHeartbeatSeconds(int value) {
        return with("heartbeat", Integer.toString(value));
    }

    /** Loads {@code key=value} lines (Java properties syntax) from a file on top of this config. */
    public ServerConfig withFile(Path file) throws IOException {
        Properties properties = new Properties();
        try (Reader reader = Files.newBufferedReader(file)) {
            properties.load(reader);
        }
        ServerConfig config = this;
        for (String key : new TreeMap<>(KEYS).keySet()) {
            // iterate known keys first so errors name unknown ones below in a stable order
            if (properties.containsKey(key)) {
                config = config.with(key, properties.getProperty(key));
            }
        }
        for (String key : properties.stringPropertyNames()) {
            if (!KEYS.containsKey(key)) {
                config = config.with(key, properties.getProperty(key));
            }
        }
        return config;
    }

    /**
     * Returns a copy with one key set.
     *
     * @throws IllegalArgumentException for an unknown key or a value that does not parse, with a
     *     message fit for a user
     */
    public ServerConfig with(String key, String value) {
        String k = key.trim().toLowerCase(Locale.ROOT).replace('-', '_');
        if (!KEYS.containsKey(k)) {
            throw new IllegalArgumentException(
                    "unknown config key '" + key + "'; known keys: " + String.join(", ", new TreeMap<>(KEYS).keySet()));
        }
        Map<String, String> values = toMap();
        values.put(k, value.trim());
        try {
            return fromMap(values);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("config key '" + key + "' needs a number, got '" + value + "'", e);
        }
    }

    /** This config as config keys and their values. */
    public Map<String, String> toMap() {
        Map<String, String> values = new TreeMap<>();
        values.put("bind", bindAddress);
        values.put("amqp.port", Integer.toString(amqpPort));
        values.put("http.port", Integer.toString(httpPort));
        values.put("data.dir", dataDir.toString());
        values.put("frame_max", Integer.toString(frameMaxBytes));
        values.put("channel_max", Integer.toString(channelMax));
        values.put("heartbeat", Integer.toString(heartbeatSeconds));
        values.put("max_message_size", Long.toString(maxMessageSizeBytes));
        values.put("large_message_threshold", Long.toString(largeMessageThresholdBytes));
        values.put("handshake_timeout", Long.toString(handshakeTimeoutMs));
        values.put("default_user", defaultUser);
        values.put("default_pass", defaultPassword);
        values.put("loopback_users", Boolean.toString(loopbackUsersOnly));
        values.put("store.segment_size", Long.toString(storeSegmentSizeBytes));
        values.put("store.preallocate", Boolean.toString(storePreallocate));
        values.put("fsync", fsync);
        values.put("disk_free_limit", Long.toString(diskFreeLimitBytes));
        values.put("memory_high_watermark", Double.toString(memoryHighWatermark));
        values.put("queue_memory_window", Integer.toString(queueMemoryWindowMessages));
        values.put("max_connections", Integer.toString(maxConnections));
        values.put("max_queues", Integer.toString(maxQueues));
        values.put("consumer_max_per_channel", Integer.toString(consumerMaxPerChannel));
        values.put("log.level", logLevel);
        tls.putInto(values);
        cluster.putInto(values);
        return values;
    }

    private static ServerConfig fromMap(Map<String, String> values) {
        return new ServerConfig(
                values.get("bind"),
                Integer.parseInt(values.get("amqp.port")),
                Integer.parseInt(values.get("http.port")),
                Path.of(values.get("data.dir")),
                Integer.parseInt(values.get("frame_max")),
                Integer.parseInt(values.get("channel_max")),
                Integer.parseInt(values.get("heartbeat")),
                Long.parseLong(values.get("max_message_size")),
                Long.parseLong(values.get("large_message_threshold")),
                Long.parseLong(values.get("handshake_timeout")),
                values.get("default_user"),
                values.get("default_pass"),
                parseBoolean(values.get("loopback_users")),
                Long.parseLong(values.get("store.segment_size")),
                parseBoolean(values.get("store.preallocate")),
                values.get("fsync"),
                Long.parseLong(values.get("disk_free_limit")),
                Double.parseDouble(values.get("memory_high_watermark")),
                Integer.parseInt(values.get("queue_memory_window")),
                Integer.parseInt(values.get("max_connections")),
                Integer.parseInt(values.get("max_queues")),
                Integer.parseInt(values.get("consumer_max_per_channel")),
                values.get("log.level"),
                TlsSettings.from(values),
                ClusterSettings.from(values));
    }

    /** Like the record's, but never prints the password. */
    @Override
    public String toString() {
        Map<String, String> values = toMap();
        values.put("default_pass", "********");
        values.put("ssl.keystore_password", "********");
        return "ServerConfig" + values;
    }

    static boolean parseBoolean(String value) {
        return switch (value.trim().toLowerCase(Locale.ROOT)) {
            case "true", "yes", "on", "1" -> true;
            case "false", "no", "off", "0" -> false;
            default -> throw new IllegalArgumentException("expected true or false, got '" + value + "'");
        };
    }
}
