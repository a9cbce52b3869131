package dev.courier.store;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Set;

/** File-system helpers shared by the writer, checkpoints and recovery. */
final class StoreFiles {
    static final String CHECKPOINT = "checkpoint";
    static final String CHECKPOINT_TEMP = "checkpoint.tmp";
    static final String LOCK = "LOCK";
    static final String BLOBS = "blobs";

    private StoreFiles() {}

    /** Makes created, renamed or deleted entries of {@code directory} durable (Linux, macOS). */
    static void fsyncDirectory(Path directory, ChannelFactory channels) throws IOException {
        try (FileChannel channel = channels.open(directory, Set.of(StandardOpenOption.READ))) {
            channel.force(true);
        }
    }
}
