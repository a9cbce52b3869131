package dev.courier.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A {@link ChannelFactory} for fault injection: segment and blob channels can be made to fail their next
 * write or force, and forces can be held at a gate so a test controls exactly which records form
 * a batch.
 */
final class FaultyChannels implements ChannelFactory {
    final AtomicBoolean failWrites = new AtomicBoolean();
    final AtomicBoolean failForces = new AtomicBoolean();
    /** When set, every segment force waits for a permit of {@link #forcePermits}. */
    final AtomicBoolean gateForces = new AtomicBoolean();

    final Semaphore forcePermits = new Semaphore(0);
    final AtomicInteger forcesWaiting = new AtomicInteger();

    @Override
    public FileChannel open(Path path, Set<? extends OpenOption> options) throws IOException {
        FileChannel channel = FileChannel.open(path, options);
        String name = path.getFileName().toString();
        return name.endsWith(".seg") || name.endsWith(BlobStore.SUFFIX) ? new Faulty(channel) : channel;
    }

    private final class Faulty extends FileChannel {
        private final FileChannel delegate;

        Faulty(FileChannel delegate) {
            this.delegate = delegate;
        }

        private void checkWrite() throws IOException {
            if (failWrites.get()) {
                throw new IOException("injected write failure (No space left on device)");
            }
        }

        @Override
        public int read(ByteBuffer dst) throws IOException {
            return delegate.read(dst);
        }

        @Override
        public long read(ByteBuffer[] dsts, int offset, int length) throws IOException {
            return delegate.read(dsts, offset, length);
        }

        @Override
        public int write(ByteBuffer src) throws IOException {
            checkWrite();
            return delegate.write(src);
        }

        @Override
        public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
            checkWrite();
            return delegate.write(srcs, offset, length);
        }

        @Override
        public long position() throws IOException {
            return delegate.position();
        }

        @Override
        public FileChannel position(long newPosition) throws IOException {
            delegate.position(newPosition);
            return this;
        }

        @Override
        public long size() throws IOException {
            return delegate.size();
        }

        @Override
        public FileChannel truncate(long size) throws IOException {
            delegate.truncate(size);
            return this;
        }

        @Override
        public void force(boolean metaData) throws IOException {
            if (gateForces.get()) {
                forcesWaiting.incrementAndGet();
                forcePermits.acquireUninterruptibly();
                forcesWaiting.decrementAndGet();
            }
            if (failForces.get()) {
                throw new IOException("injected fsync failure");
            }
            delegate.force(metaData);
        }

        @Override
        public long transferTo(long position, long count, WritableByteChannel target) throws IOException {
            return delegate.transferTo(position, count, target);
        }

        @Override
        public long transferFrom(ReadableByteChannel src, long position, long count) throws IOException {
            checkWrite();
            return delegate.transferFrom(src, position, count);
        }

        @Override
        public int read(ByteBuffer dst, long position) throws IOException {
            return delegate.read(dst, position);
        }

        @Override
        public int write(ByteBuffer src, long position) throws IOException {
            checkWrite();
            return delegate.write(src, position);
        }

        @Override
        public MappedByteBuffer map(MapMode mode, long position, long size) throws IOException {
            return delegate.map(mode, position, size);
        }

        @Override
        public FileLock lock(long position, long size, boolean shared) throws IOException {
            return delegate.lock(position, size, shared);
        }

        @Override
        public FileLock tryLock(long position, long size, boolean shared) throws IOException {
            return delegate.tryLock(position, size, shared);
        }

        @Override
        protected void implCloseChannel() throws IOException {
            delegate.close();
        }
    }
}
