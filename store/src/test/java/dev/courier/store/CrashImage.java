package dev.courier.store;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.TreeMap;

/**
 * What a {@code kill -9} leaves behind: a copy of an open store's segment and checkpoint files
 * once everything submitted was written (no final checkpoint, no clean close), plus helpers to
 * damage it like a torn write or bad media would.
 */
final class CrashImage {
    private CrashImage() {}

    /**
     * Copies the files. The store may delete a dead segment in the background between the listing
     * and its copy; the whole copy is then taken again, so the image is never one with a segment
     * missing that the store itself never lacked.
     */
    static void copy(MessageStore store, Path target) throws IOException {
        for (int attempt = 1; ; attempt++) {
            TestMessages.await(store.flush());
            Files.createDirectories(target);
            try {
                copyOnce(store.directory(), target);
                return;
            } catch (NoSuchFileException vanished) {
                if (attempt == 5) {
                    throw vanished;
                }
                try (DirectoryStream<Path> partial = Files.newDirectoryStream(target)) {
                    for (Path file : partial) {
                        Files.delete(file);
                    }
                }
            }
        }
    }

    private static void copyOnce(Path source, Path target) throws IOException {
        try (DirectoryStream<Path> files = Files.newDirectoryStream(source)) {
            for (Path file : files) {
                String name = file.getFileName().toString();
                if (name.endsWith(".seg") || name.equals(StoreFiles.CHECKPOINT)) {
                    Files.copy(file, target.resolve(name));
                }
            }
        }
    }

    static TreeMap<Long, Path> segments(Path dir) throws IOException {
        TreeMap<Long, Path> segments = new TreeMap<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*.seg")) {
            for (Path file : files) {
                segments.put(Segment.parseId(file.getFileName().toString()), file);
            }
        }
        return segments;
    }

    static Path lastSegment(Path dir) throws IOException {
        return segments(dir).lastEntry().getValue();
    }

    static void truncate(Path file, long sizeBytes) throws IOException {
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(sizeBytes);
        }
    }

    static void flipByte(Path file, long offset) throws IOException {
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.seek(offset);
            int b = raf.read();
            raf.seek(offset);
            raf.write(b ^ 0x5A);
        }
    }
}
