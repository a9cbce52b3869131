package dev.courier.store;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.util.Set;

/**
 * Opens every file channel the store uses (segments, checkpoint, directory). The seam for fault
 * injection: a test passes a factory whose channels fail {@code write} or {@code force} on
 * demand, or fill up like a full disk.
 */
@FunctionalInterface
public interface ChannelFactory {
    /** The real file system. */
    ChannelFactory DEFAULT = (path, options) -> FileChannel.open(path, options);

    FileChannel open(Path path, Set<? extends OpenOption> options) throws IOException;
}
