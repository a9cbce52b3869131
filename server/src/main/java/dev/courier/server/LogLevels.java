package dev.courier.server;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import org.slf4j.LoggerFactory;

/**
 * Applies the {@code log.level} config key to Logback's root logger when the server starts, on
 * top of {@code logback.xml} (whose {@code -Dcourier.log.level} sets the level before any code
 * runs). Loggers that {@code logback.xml} gives their own level (Netty, Ratis) keep it. Called by
 * {@link Main} on the main thread before the server starts.
 */
final class LogLevels {
    private static final org.slf4j.Logger LOG = LoggerFactory.getLogger(LogLevels.class);

    private LogLevels() {}

    /**
     * Sets the root logger to {@code level} (one of {@link ServerConfig#LOG_LEVELS}); empty
     * leaves it alone. Returns whether the level was applied (false when SLF4J is not bound to
     * Logback, e.g. in an application embedding the server with another backend).
     */
    static boolean apply(String level) {
        if (level.isEmpty()) {
            return false;
        }
        if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
            LOG.warn("log.level={} ignored: logging is not done by Logback", level);
            return false;
        }
        Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        root.setLevel(Level.toLevel(level, root.getLevel()));
        return true;
    }
}
