package dev.courier.client;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * A {@link PayloadStore} in one directory: one file per payload, named by a random UUID key.
 *
 * <p>Keys are random rather than content hashes so that deleting one message's payload never
 * removes a payload another message still refers to. A payload is written to a temporary file in
 * the same directory, forced to disk, and then renamed into place atomically, so a crash leaves
 * either the whole payload or a temporary file that {@link #deleteOlderThan} cleans up. Several
 * processes may share the directory (e.g. on a network file system that renames atomically).
 * Thread-safe.
 */
public final class FileSystemPayloadStore implements PayloadStore {
    private static final Pattern KEY = Pattern.compile("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
    private static final String TEMP_PREFIX = ".incoming-";

    private final Path directory;
    private final String id;

    private FileSystemPayloadStore(Path directory, String id) {
        this.directory = directory;
        this.id = id;
    }

    /** A store in {@code directory} (created if missing) with the store id {@code "fs"}. */
    public static FileSystemPayloadStore open(Path directory) throws IOException {
        return open(directory, "fs");
    }

    /** A store in {@code directory} (created if missing) with the given store id. */
    public static FileSystemPayloadStore open(Path directory, String id) throws IOException {
        Files.createDirectories(directory);
        return new FileSystemPayloadStore(directory, id);
    }

    public Path directory() {
        return directory;
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public String put(InputStream payload) throws IOException {
        String key = UUID.randomUUID().toString();
        Path temp = Files.createTempFile(directory, TEMP_PREFIX, ".tmp");
        try {
            try (FileChannel file = FileChannel.open(temp, StandardOpenOption.WRITE)) {
                OutputStream out = Channels.newOutputStream(file);
                payload.transferTo(out);
                out.flush();
                file.force(true);
            }
            Files.move(temp, directory.resolve(key), StandardCopyOption.ATOMIC_MOVE);
            return key;
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(temp);
            throw e;
        }
    }

    @Override
    public InputStream open(String key) throws IOException {
        try {
            return Files.newInputStream(pathOf(key));
        } catch (NoSuchFileException e) {
            throw new PayloadNotFoundException(id, key);
        }
    }

    @Override
    public boolean delete(String key) throws IOException {
        return Files.deleteIfExists(pathOf(key));
    }

    @Override
    public int deleteOlderThan(Instant cutoff) throws IOException {
        int deleted = 0;
        try (DirectoryStream<Path> files = Files.newDirectoryStream(directory)) {
            for (Path file : files) {
                String name = file.getFileName().toString();
                boolean ours = KEY.matcher(name).matches() || name.startsWith(TEMP_PREFIX);
                try {
                    if (ours
                            && Files.getLastModifiedTime(file).toInstant().isBefore(cutoff)
                            && Files.deleteIfExists(file)) {
                        deleted++;
                    }
                } catch (NoSuchFileException e) {
                    // deleted concurrently (an ack, or another sweeper): nothing left to do
                }
            }
        }
        return deleted;
    }

    private Path pathOf(String key) throws PayloadNotFoundException {
        // a key comes from a message header: never let it name a path outside the directory
        if (key == null || !KEY.matcher(key).matches()) {
            throw new PayloadNotFoundException(id, String.valueOf(key));
        }
        return directory.resolve(key);
    }

    @Override
    public String toString() {
        return "FileSystemPayloadStore[" + id + " at " + directory + "]";
    }
}
