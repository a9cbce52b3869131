package dev.courier.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Frame reading and writing: partial input, limits, malformed frames, content splitting. */
class FrameReaderTest {
    private static ByteBuf publishFrames() {
        ByteBuf out = Unpooled.buffer();
        FrameWriter.writeMethod(out, 3, new Amqp.Basic.Publish("ex", "rk", true, false));
        FrameWriter.writeHeader(out, 3, 5, BasicProperties.EMPTY.withHeaders(Map.of("a", 1)));
        FrameWriter.writeBodyFrame(out, 3, Unpooled.wrappedBuffer(new byte[] {1, 2, 3, 4, 5}));
        FrameWriter.writeHeartbeat(out);
        return out;
    }

    @Test
    void shouldReturnNullUntilAWholeFrameIsBufferedAtEverySplitPoint() {
        ByteBuf all = publishFrames();
        byte[] bytes = new byte[all.readableBytes()];
        all.readBytes(bytes);
        all.release();
        for (int split = 0; split < bytes.length; split++) {
            ByteBuf in = Unpooled.buffer();
            List<Frame> frames = new ArrayList<>();
            in.writeBytes(bytes, 0, split);
            readAll(in, frames);
            in.writeBytes(bytes, split, bytes.length - split);
            readAll(in, frames);
            assertThat(frames).hasSize(4);
            assertThat(frames.get(0)).isInstanceOf(MethodFrame.class);
            HeaderFrame header = (HeaderFrame) frames.get(1);
            assertThat(header.bodySize()).isEqualTo(5);
            assertThat(header.decodeProperties().headers()).containsEntry("a", 1);
            BodyFrame body = (BodyFrame) frames.get(2);
            assertThat(body.content().readableBytes()).isEqualTo(5);
            assertThat(frames.get(3)).isEqualTo(HeartbeatFrame.INSTANCE);
            header.properties().release();
            body.content().release();
            assertThat(in.refCnt()).isEqualTo(1);
            in.release();
        }
    }

    private static void readAll(ByteBuf in, List<Frame> frames) {
        Frame frame;
        while ((frame = FrameReader.read(in, 131072)) != null) {
            frames.add(frame);
        }
    }

    @Test
    void shouldRejectABadFrameEndWith501() {
        ByteBuf in = Unpooled.buffer();
        FrameWriter.writeMethod(in, 1, new Amqp.Channel.Open(""));
        in.setByte(in.writerIndex() - 1, 0x42);
        assertThatThrownBy(() -> FrameReader.read(in, 131072))
                .isInstanceOfSatisfying(
                        ProtocolException.class, e -> assertThat(e.replyCode()).isEqualTo(501));
        in.release();
    }

    @Test
    void shouldRejectAnOversizedFrameBeforeItsPayloadArrives() {
        ByteBuf in = Unpooled.buffer();
        in.writeByte(3).writeShort(1).writeInt(1_000_000);
        assertThatThrownBy(() -> FrameReader.read(in, 131072))
                .isInstanceOfSatisfying(
                        ProtocolException.class, e -> assertThat(e.replyCode()).isEqualTo(501));
        in.release();
    }

    @Test
    void shouldRejectAnUnknownFrameTypeWith501() {
        ByteBuf in = Unpooled.buffer();
        in.writeByte(9).writeShort(0).writeInt(0).writeByte(0xCE);
        assertThatThrownBy(() -> FrameReader.read(in, 131072))
                .isInstanceOfSatisfying(
                        ProtocolException.class, e -> assertThat(e.replyCode()).isEqualTo(501));
        in.release();
    }

    @Test
    void shouldRejectAnUnknownMethodWith503() {
        ByteBuf in = Unpooled.buffer();
        in.writeByte(1).writeShort(0).writeInt(4).writeShort(60).writeShort(99).writeByte(0xCE);
        assertThatThrownBy(() -> FrameReader.read(in, 131072)).isInstanceOfSatisfying(ProtocolException.class, e -> {
            assertThat(e.replyCode()).isEqualTo(503);
            assertThat(e.classId()).isEqualTo(60);
            assertThat(e.methodId()).isEqualTo(99);
        });
        in.release();
    }

    @Test
    void shouldCheckTheProtocolHeader() {
        assertThat(FrameReader.checkProtocolHeader(Unpooled.wrappedBuffer(new byte[] {'A', 'M', 'Q'})))
                .isEqualTo(FrameReader.ProtocolHeaderCheck.NEED_MORE);
        assertThat(FrameReader.checkProtocolHeader(Unpooled.wrappedBuffer("GET / HTTP".getBytes())))
                .isEqualTo(FrameReader.ProtocolHeaderCheck.MISMATCH);
        assertThat(FrameReader.checkProtocolHeader(Unpooled.wrappedBuffer(new byte[] {'A', 'M', 'Q', 'P', 1, 1, 0, 9})))
                .isEqualTo(FrameReader.ProtocolHeaderCheck.MISMATCH);
        ByteBuf ok = Unpooled.wrappedBuffer(new byte[] {'A', 'M', 'Q', 'P', 0, 0, 9, 1, 7});
        assertThat(FrameReader.checkProtocolHeader(ok)).isEqualTo(FrameReader.ProtocolHeaderCheck.OK);
        assertThat(ok.readableBytes()).isEqualTo(1);
    }

    @Property(tries = 2000)
    void shouldOnlyEverThrowProtocolExceptionsOnGarbage(@ForAll @Size(max = 64) byte[] garbage) {
        ByteBuf in = Unpooled.wrappedBuffer(garbage);
        try {
            Frame frame;
            while ((frame = FrameReader.read(in, 4096)) != null) {
                release(frame);
            }
        } catch (ProtocolException expected) {
            assertThat(expected.replyCode()).isIn(501, 502, 503);
        }
    }

    @Property(tries = 500)
    void shouldOnlyEverThrowProtocolExceptionsOnCorruptedMethods(
            @ForAll @IntRange(min = 0, max = 100_000) int seed, @ForAll @IntRange(min = 0, max = 200) int cut) {
        Random random = new Random(seed);
        for (Class<? extends Method> type : Amqp.METHOD_CLASSES) {
            ByteBuf frame = Unpooled.buffer();
            try {
                FrameWriter.writeMethod(frame, 1, MethodRoundTripTest.randomInstance(type, random));
                // corrupt: flip a random payload byte, or cut the payload short keeping a valid frame
                if (random.nextBoolean() && frame.readableBytes() > 12) {
                    int at = 7 + 4 + random.nextInt(frame.readableBytes() - 12);
                    frame.setByte(at, frame.getByte(at) ^ (1 + random.nextInt(255)));
                } else {
                    int payload = frame.getInt(3);
                    int keep = Math.min(payload, 4 + cut % Math.max(1, payload - 3));
                    frame.setInt(3, keep);
                    frame.writerIndex(7 + keep);
                    frame.writeByte(0xCE);
                }
                Frame read = FrameReader.read(frame, 0);
                if (read != null) {
                    release(read);
                }
            } catch (ProtocolException expected) {
                assertThat(expected.replyCode()).isIn(501, 502, 503);
            } catch (Exception e) {
                throw new AssertionError(type + " threw " + e, e);
            } finally {
                frame.release();
            }
        }
    }

    private static void release(Frame frame) {
        if (frame instanceof HeaderFrame header) {
            header.properties().release();
        } else if (frame instanceof BodyFrame body) {
            body.content().release();
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {4096, 131072, 0})
    void shouldSplitContentIntoFramesOfAtMostFrameMaxWithoutLeaking(int frameMax) {
        ByteBufAllocator alloc = new PooledByteBufAllocator(false);
        for (int size : new int[] {0, 1, 4087, 4088, 4089, 10_000, 131064, 131065, 1_000_000}) {
            ByteBuf body = alloc.buffer(size);
            byte[] bytes = new byte[size];
            new Random(size).nextBytes(bytes);
            body.writeBytes(bytes);
            ByteBuf properties = alloc.buffer();
            BasicProperties.EMPTY.withExpiration("1000").encode(properties);
            ByteBuf encoded = FrameWriter.encodeContent(
                    alloc, 5, new Amqp.Basic.Deliver("tag", 1, false, "", "q"), properties, body, frameMax);
            List<Frame> frames = new ArrayList<>();
            Frame frame;
            while ((frame = FrameReader.read(encoded, frameMax == 0 ? 0 : frameMax)) != null) {
                frames.add(frame);
            }
            assertThat(encoded.isReadable()).isFalse();
            encoded.release();
            assertThat(frames.get(0)).isInstanceOf(MethodFrame.class);
            assertThat(((HeaderFrame) frames.get(1)).bodySize()).isEqualTo(size);
            ByteBuf reassembled = Unpooled.buffer();
            for (Frame f : frames.subList(2, frames.size())) {
                ByteBuf content = ((BodyFrame) f).content();
                if (frameMax != 0) {
                    assertThat(content.readableBytes()).isLessThanOrEqualTo(frameMax - 8);
                }
                reassembled.writeBytes(content);
                content.release();
            }
            ((HeaderFrame) frames.get(1)).properties().release();
            byte[] got = new byte[reassembled.readableBytes()];
            reassembled.readBytes(got);
            assertThat(got).isEqualTo(bytes);
            // the caller's references are untouched and everything else was released
            assertThat(body.refCnt()).isEqualTo(1);
            assertThat(properties.refCnt()).isEqualTo(1);
            body.release();
            properties.release();
        }
    }
}
