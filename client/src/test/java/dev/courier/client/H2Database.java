package dev.courier.client;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;
import org.h2.jdbcx.JdbcDataSource;

/**
 * An embedded H2 database in file mode (a real database on disk, from Maven Central), with an
 * {@code effects} table that test handlers write their side effects to: no key, so a side effect
 * applied twice shows up as two rows.
 *
 * <p>The database stays open until {@link #close()}, as an application's would behind a pool.
 * Without that, H2 closes the file whenever its last connection closes, and the exactly-once
 * consumer (one connection per message) paid a database open and a synced close per message:
 * tens of milliseconds each here, enough on a busy CI machine to miss a test's deadline.
 */
final class H2Database implements AutoCloseable {
    private final JdbcDataSource dataSource = new JdbcDataSource();

    H2Database(Path directory) throws SQLException {
        dataSource.setURL(
                "jdbc:h2:file:" + directory.resolve("app").toAbsolutePath() + ";LOCK_TIMEOUT=10000;DB_CLOSE_DELAY=-1");
        dataSource.setUser("sa");
        dataSource.setPassword("");
        execute("CREATE TABLE IF NOT EXISTS effects (input VARCHAR(100) NOT NULL, body VARCHAR(1000))");
    }

    /** Shuts the database down (it stays open between connections until then). */
    @Override
    public void close() throws SQLException {
        execute("SHUTDOWN");
    }

    DataSource dataSource() {
        return dataSource;
    }

    /** The handler's side effect: one row per processed input. */
    static void recordEffect(Connection transaction, String input, String body) throws SQLException {
        try (PreparedStatement insert =
                transaction.prepareStatement("INSERT INTO effects (input, body) VALUES (?, ?)")) {
            insert.setString(1, input);
            insert.setString(2, body);
            insert.executeUpdate();
        }
    }

    void execute(String sql) throws SQLException {
        try (Connection db = dataSource.getConnection();
                Statement statement = db.createStatement()) {
            statement.execute(sql);
        }
    }

    long count(String sql) throws SQLException {
        try (Connection db = dataSource.getConnection();
                Statement statement = db.createStatement();
                ResultSet rows = statement.executeQuery(sql)) {
            rows.next();
            return rows.getLong(1);
        }
    }

    long effects() throws SQLException {
        return count("SELECT COUNT(*) FROM effects");
    }

    long distinctEffects() throws SQLException {
        return count("SELECT COUNT(DISTINCT input) FROM effects");
    }

    /** Inputs whose side effect was applied more than once. */
    List<String> duplicatedInputs() throws SQLException {
        List<String> inputs = new ArrayList<>();
        try (Connection db = dataSource.getConnection();
                Statement statement = db.createStatement();
                ResultSet rows =
                        statement.executeQuery("SELECT input FROM effects GROUP BY input HAVING COUNT(*) > 1")) {
            while (rows.next()) {
                inputs.add(rows.getString(1));
            }
        }
        return inputs;
    }
}
