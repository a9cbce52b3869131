package dev.courier.client;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.HexFormat;
import java.util.regex.Pattern;
import javax.sql.DataSource;

/**
 * The processed-ids table of an {@link ExactlyOnceConsumer}: one row per (consumer, message id),
 * inserted in the application's transaction. Plain SQL that H2, SQLite, PostgreSQL and MySQL all
 * accept. Stateless apart from the table name; thread-safe.
 */
final class JdbcProcessedIds {
    /** Ids longer than this are stored as their SHA-256, so that any id fits the key column. */
    static final int MAX_ID_CHARS = 200;

    private static final Pattern TABLE_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)?");

    private final String insert;
    private final String select;
    private final String deleteBefore;
    private final String create;

    JdbcProcessedIds(String table) {
        if (!TABLE_NAME.matcher(table).matches()) {
            throw new IllegalArgumentException("not a plain SQL table name: " + table);
        }
        create = "CREATE TABLE IF NOT EXISTS " + table + " (consumer VARCHAR(200) NOT NULL,"
                + " message_id VARCHAR(" + (MAX_ID_CHARS + 7) + ") NOT NULL, processed_at TIMESTAMP NOT NULL,"
                + " PRIMARY KEY (consumer, message_id))";
        insert = "INSERT INTO " + table + " (consumer, message_id, processed_at) VALUES (?, ?, ?)";
        select = "SELECT 1 FROM " + table + " WHERE consumer = ? AND message_id = ?";
        deleteBefore = "DELETE FROM " + table + " WHERE consumer = ? AND processed_at < ?";
    }

    void createIfAbsent(DataSource dataSource) throws SQLException {
        try (Connection db = dataSource.getConnection();
                Statement statement = db.createStatement()) {
            statement.execute(create);
            if (!db.getAutoCommit()) {
                db.commit();
            }
        }
    }

    /**
     * Inserts the id in {@code db}'s open transaction. Returns false, with the transaction rolled
     * back, when the id is already there (committed by an earlier delivery of the same message).
     */
    boolean tryInsert(Connection db, String consumer, String messageId, Instant now) throws SQLException {
        String key = storedKey(messageId);
        try (PreparedStatement statement = db.prepareStatement(insert)) {
            statement.setString(1, consumer);
            statement.setString(2, key);
            statement.setTimestamp(3, Timestamp.from(now));
            statement.executeUpdate();
            return true;
        } catch (SQLException e) {
            // Drivers disagree on how they report a duplicate key (SQLState 23xxx, SQLite's error
            // code 19, ...), and some abort the transaction on any failed statement: roll back
            // and look.
            db.rollback();
            if (contains(db, consumer, key)) {
                return false;
            }
            throw e;
        }
    }

    boolean contains(Connection db, String consumer, String messageId) throws SQLException {
        try (PreparedStatement statement = db.prepareStatement(select)) {
            statement.setString(1, consumer);
            statement.setString(2, storedKey(messageId));
            try (ResultSet rows = statement.executeQuery()) {
                return rows.next();
            }
        }
    }

    int deleteBefore(Connection db, String consumer, Instant cutoff) throws SQLException {
        try (PreparedStatement statement = db.prepareStatement(deleteBefore)) {
            statement.setString(1, consumer);
            statement.setTimestamp(2, Timestamp.from(cutoff));
            return statement.executeUpdate();
        }
    }

    static String storedKey(String messageId) {
        if (messageId.length() <= MAX_ID_CHARS) {
            return messageId;
        }
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(messageId.getBytes(StandardCharsets.UTF_8));
            return "sha256:" + HexFormat.of().formatHex(digest);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }
}
