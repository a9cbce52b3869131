package dev.courier.server.amqp;

import static org.assertj.core.api.Assertions.assertThat;

import dev.courier.protocol.Amqp;
import dev.courier.protocol.AmqpConstants;
import dev.courier.protocol.BodyFrame;
import dev.courier.protocol.HeaderFrame;
import dev.courier.store.Blob;
import dev.courier.store.BlobStore;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.stream.ChunkedWriteHandler;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The two ends of a large message in the connection layer: {@link ContentAssembler} writing body
 * frames into a blob as they arrive (holding none of them), and {@link BlobBodyFrames} turning a
 * blob back into body frames one at a time.
 */
class LargeContentTest {
    private static final int THRESHOLD = 1000;
    private static final Amqp.Basic.Publish PUBLISH = new Amqp.Basic.Publish(0, "", "q", false, false);

    @TempDir
    Path dir;

    private BlobStore blobs;
    private final java.util.concurrent.atomic.AtomicLong behind = new java.util.concurrent.atomic.AtomicLong();
    private final ContentAssembler.WriteBacklog backlog = new ContentAssembler.WriteBacklog() {
        @Override
        public void handedOver(long bytes) {
            behind.addAndGet(bytes);
        }

        @Override
        public void written(long bytes) {
            behind.addAndGet(-bytes);
        }
    };

    @BeforeEach
    void open() throws IOException {
        blobs = BlobStore.open(dir);
    }

    @AfterEach
    void close() {
        blobs.close();
    }

    private static byte[] pattern(int size) {
        byte[] bytes = new byte[size];
        new Random(size).nextBytes(bytes);
        return bytes;
    }

    private long blobFiles() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.count();
        }
    }

    private static HeaderFrame header(long size) {
        return new HeaderFrame(
                1, Amqp.Basic.Publish.CLASS_ID, size, Unpooled.buffer(2).writeShort(0));
    }

    @Test
    void shouldWriteABodyAboveTheThresholdToABlobFrameByFrame() throws IOException {
        ContentAssembler assembler = new ContentAssembler(1_000_000, blobs, THRESHOLD, backlog);
        byte[] body = pattern(2500);
        assembler.begin(PUBLISH);
        assertThat(assembler.onContentFrame(header(body.length))).isNull();
        List<ByteBuf> frames = new ArrayList<>();
        ContentAssembler.Result result = null;
        for (int at = 0; at < body.length; at += 1000) {
            ByteBuf frame = Unpooled.copiedBuffer(body, at, Math.min(1000, body.length - at));
            frames.add(frame);
            result = assembler.onContentFrame(new BodyFrame(1, frame));
        }
        assertThat(result).isNotNull();
        assertThat(result.largeBody()).isNull();
        Blob blob = result.largeBodyWritten().join();
        assertThat(frames)
                .allSatisfy(frame ->
                        assertThat(frame.refCnt()).as("released once written").isZero());
        assertThat(behind.get()).as("every handed-over byte reported written").isZero();
        assertThat(result.body().readableBytes()).isZero();
        ByteBuf stored = blob.readAll(PooledByteBufAllocator.DEFAULT, 0, body.length);
        assertThat(ByteBufUtil.getBytes(stored)).isEqualTo(body);
        stored.release();
        result.properties().release();
        blob.release();
        Awaitility.await().atMost(10, TimeUnit.SECONDS).until(() -> blobFiles() == 0);
    }

    @Test
    void shouldNotLetALargeMessagesPropertiesPinTheBufferTheyWereReadInto() {
        ByteBuf readBuffer = Unpooled.buffer(64 * 1024).writeShort(0).writeZero(64 * 1024 - 2);
        ContentAssembler assembler = new ContentAssembler(1_000_000, blobs, THRESHOLD, backlog);
        assembler.begin(PUBLISH);
        assembler.onContentFrame(new HeaderFrame(1, Amqp.Basic.Publish.CLASS_ID, 5000, readBuffer.retainedSlice(0, 2)));
        assertThat(readBuffer.refCnt()).as("the properties were copied out").isEqualTo(1);
        assembler.release();
        readBuffer.release();
    }

    @Test
    void shouldKeepABodyOfExactlyTheThresholdInMemory() {
        ContentAssembler assembler = new ContentAssembler(1_000_000, blobs, THRESHOLD, backlog);
        assembler.begin(PUBLISH);
        assembler.onContentFrame(header(THRESHOLD));
        ContentAssembler.Result result =
                assembler.onContentFrame(new BodyFrame(1, Unpooled.wrappedBuffer(pattern(THRESHOLD))));
        assertThat(result.largeBody()).isNull();
        assertThat(result.body().readableBytes()).isEqualTo(THRESHOLD);
        result.body().release();
        result.properties().release();
    }

    @Test
    void shouldDeleteAPartlyWrittenBlobWhenTheChannelCloses() throws IOException {
        ContentAssembler assembler = new ContentAssembler(1_000_000, blobs, THRESHOLD, backlog);
        assembler.begin(PUBLISH);
        assembler.onContentFrame(header(5000));
        ByteBuf part = Unpooled.wrappedBuffer(pattern(1500));
        assembler.onContentFrame(new BodyFrame(1, part));
        Awaitility.await().atMost(10, TimeUnit.SECONDS).until(() -> blobFiles() == 1);
        assembler.release();
        Awaitility.await().atMost(10, TimeUnit.SECONDS).until(() -> part.refCnt() == 0 && behind.get() == 0);
        Awaitility.await().atMost(10, TimeUnit.SECONDS).until(() -> blobFiles() == 0);
    }

    @Test
    void shouldStreamABlobAsCompleteBodyFramesNoLargerThanFrameMax() throws IOException {
        byte[] body = pattern(10_000);
        ContentAssembler assembler = new ContentAssembler(1_000_000, blobs, THRESHOLD, backlog);
        assembler.begin(PUBLISH);
        assembler.onContentFrame(header(body.length));
        ContentAssembler.Result result = assembler.onContentFrame(new BodyFrame(1, Unpooled.wrappedBuffer(body)));
        result.properties().release();
        Blob blob = result.largeBodyWritten().join();

        EmbeddedChannel channel = new EmbeddedChannel(new ChunkedWriteHandler());
        int frameMax = 4096;
        channel.writeAndFlush(new BlobBodyFrames(blob, 7, frameMax));
        blob.release(); // the stream holds its own reference until it ends
        ByteBuf all = Unpooled.buffer();
        ByteBuf frame;
        int frames = 0;
        while ((frame = channel.readOutbound()) != null) {
            assertThat(frame.getByte(0)).isEqualTo((byte) AmqpConstants.FRAME_BODY);
            assertThat(frame.getUnsignedShort(1)).isEqualTo(7);
            int size = frame.getInt(3);
            assertThat(size).isLessThanOrEqualTo(frameMax - 8);
            assertThat(frame.readableBytes()).isEqualTo(size + 8);
            assertThat(frame.getUnsignedByte(7 + size)).isEqualTo((short) AmqpConstants.FRAME_END);
            all.writeBytes(frame, 7, size);
            frame.release();
            frames++;
        }
        assertThat(frames).isEqualTo(3);
        assertThat(ByteBufUtil.getBytes(all)).isEqualTo(body);
        assertThat(channel.finish()).isFalse();
        Awaitility.await().atMost(10, TimeUnit.SECONDS).until(() -> blobFiles() == 0);
    }

    @Test
    void shouldReleaseTheBlobWhenTheConnectionClosesMidStream() throws IOException {
        ContentAssembler assembler = new ContentAssembler(1_000_000, blobs, THRESHOLD, backlog);
        assembler.begin(PUBLISH);
        assembler.onContentFrame(header(10_000));
        ContentAssembler.Result result =
                assembler.onContentFrame(new BodyFrame(1, Unpooled.wrappedBuffer(pattern(10_000))));
        result.properties().release();
        Blob blob = result.largeBodyWritten().join();
        EmbeddedChannel channel = new EmbeddedChannel(new ChunkedWriteHandler());
        channel.config().setWriteBufferWaterMark(new io.netty.channel.WriteBufferWaterMark(1, 2));
        channel.write(new BlobBodyFrames(blob, 1, 4096)); // not flushed: nothing read yet
        blob.release();
        assertThat(blobFiles()).isEqualTo(1);
        channel.close();
        ByteBuf frame;
        while ((frame = channel.readOutbound()) != null) {
            frame.release();
        }
        Awaitility.await().atMost(10, TimeUnit.SECONDS).until(() -> blobFiles() == 0);
    }
}
