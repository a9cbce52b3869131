package dev.courier.server.amqp;

import static org.assertj.core.api.Assertions.assertThat;

import dev.courier.broker.AmqpException;
import dev.courier.protocol.Amqp;
import dev.courier.protocol.AmqpConstants;
import dev.courier.protocol.Frame;
import dev.courier.protocol.FrameReader;
import dev.courier.protocol.FrameWriter;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;

/**
 * Content header and body frames after basic.publish, in random order and sizes, through the
 * frame decoder into {@link ContentAssembler}, against a model of the rules: a well-formed
 * message comes out byte for byte; anything else is 505 UNEXPECTED_FRAME or 406 for a body over
 * the size limit; and whatever happens, once the channel releases the assembler no buffer of the
 * input is still referenced.
 */
class ContentAssemblerPropertyTest {
    private static final int MAX_MESSAGE_SIZE_BYTES = 4_000;
    private static final int CHANNEL = 1;

    /** One thing a client sends on the channel. */
    sealed interface Op {}

    /** basic.publish: the assembler's {@code begin}. */
    record Publish() implements Op {}

    /** A content header frame for {@code classId} announcing {@code size} body bytes. */
    record Header(int classId, int size, byte[] properties) implements Op {}

    /** A body frame of {@code length} bytes. */
    record Body(int length) implements Op {}

    /** A well-formed message: publish, header, then the body in {@code chunk}-byte frames. */
    record Message(int size, byte[] properties, int chunk) implements Op {}

    @Provide
    Arbitrary<List<Op>> clientFrames() {
        // raw property bytes as the assembler passes them on: at least the 2-byte flags, never decoded here
        Arbitrary<byte[]> properties =
                Arbitraries.bytes().array(byte[].class).ofMinSize(2).ofMaxSize(24);
        Arbitrary<Op> publish = Arbitraries.just(new Publish());
        Arbitrary<Op> header = Combinators.combine(
                        Arbitraries.frequency(Tuple.of(8, Amqp.Basic.Publish.CLASS_ID), Tuple.of(1, 50)),
                        Arbitraries.integers().between(0, MAX_MESSAGE_SIZE_BYTES + 300),
                        properties)
                .as(Header::new);
        Arbitrary<Op> body = Arbitraries.integers().between(0, 1_500).map(Body::new);
        Arbitrary<Op> message = Combinators.combine(
                        Arbitraries.integers().between(0, MAX_MESSAGE_SIZE_BYTES),
                        properties,
                        Arbitraries.integers().between(1, MAX_MESSAGE_SIZE_BYTES))
                .as(Message::new);
        return Arbitraries.frequencyOf(
                        Tuple.of(4, message), Tuple.of(1, publish), Tuple.of(2, header), Tuple.of(3, body))
                .list()
                .ofMaxSize(12);
    }

    /** What the model expects of one frame: the message completed by it, or an error code. */
    private record Expected(byte[] completedBody, byte[] completedProperties, int errorCode) {}

    /** The rules of 0-9-1 §4.2.6 as Courier (and RabbitMQ) apply them, as a little state machine. */
    private static final class Model {
        boolean publishing;
        boolean headerSeen;
        long size;
        byte[] properties;
        ByteArrayOutputStream body = new ByteArrayOutputStream();

        Expected onHeader(int classId, long bodySize, byte[] props) {
            if (!publishing || headerSeen || classId != Amqp.Basic.Publish.CLASS_ID) {
                return new Expected(null, null, AmqpConstants.UNEXPECTED_FRAME);
            }
            if (bodySize > MAX_MESSAGE_SIZE_BYTES) {
                return new Expected(null, null, AmqpConstants.PRECONDITION_FAILED);
            }
            headerSeen = true;
            size = bodySize;
            properties = props;
            return bodySize == 0 ? complete() : new Expected(null, null, 0);
        }

        Expected onBody(byte[] chunk) {
            if (!publishing || !headerSeen || body.size() + (long) chunk.length > size) {
                return new Expected(null, null, AmqpConstants.UNEXPECTED_FRAME);
            }
            body.writeBytes(chunk);
            return body.size() == size ? complete() : new Expected(null, null, 0);
        }

        private Expected complete() {
            Expected done = new Expected(body.toByteArray(), properties, 0);
            publishing = false;
            headerSeen = false;
            body = new ByteArrayOutputStream();
            return done;
        }
    }

    @Property(tries = 1_000)
    void shouldAssembleWellFormedContentAndRefuseTheRestWithoutLeaking(@ForAll("clientFrames") List<Op> ops) {
        // the frames as a client would put them on the wire, and what each frame carries
        ByteBuf wire = Unpooled.buffer();
        List<Op> perFrame = new ArrayList<>();
        List<byte[]> bodies = new ArrayList<>();
        int[] counter = {0};
        for (Op op : ops) {
            if (op instanceof Message m) {
                perFrame.add(new Publish());
                perFrame.add(new Header(Amqp.Basic.Publish.CLASS_ID, m.size(), m.properties()));
                FrameWriter.writeHeader(wire, CHANNEL, m.size(), Unpooled.wrappedBuffer(m.properties()));
                bodies.add(null);
                bodies.add(null);
                for (int sent = 0; sent < m.size(); sent += m.chunk()) {
                    byte[] chunk = bytes(Math.min(m.chunk(), m.size() - sent), counter);
                    FrameWriter.writeBodyFrame(wire, CHANNEL, Unpooled.wrappedBuffer(chunk));
                    perFrame.add(new Body(chunk.length));
                    bodies.add(chunk);
                }
            } else if (op instanceof Header h) {
                int start = wire.writerIndex();
                FrameWriter.writeHeader(wire, CHANNEL, h.size(), Unpooled.wrappedBuffer(h.properties()));
                wire.setShort(start + 7, h.classId()); // after type, channel and size

                perFrame.add(h);
                bodies.add(null);
            } else if (op instanceof Body b) {
                byte[] chunk = bytes(b.length(), counter);
                FrameWriter.writeBodyFrame(wire, CHANNEL, Unpooled.wrappedBuffer(chunk));
                perFrame.add(b);
                bodies.add(chunk);
            } else {
                perFrame.add(op);
                bodies.add(null);
            }
        }

        ContentAssembler assembler = new ContentAssembler(MAX_MESSAGE_SIZE_BYTES);
        Model model = new Model();
        try {
            for (int i = 0; i < perFrame.size(); i++) {
                Op op = perFrame.get(i);
                if (op instanceof Publish) {
                    if (model.publishing) {
                        // a method inside content: the connection closes (AmqpChannel's rule)
                        assertThat(assembler.inProgress()).isTrue();
                        return;
                    }
                    model.publishing = true;
                    assembler.begin(new Amqp.Basic.Publish("x", "k", false, false));
                    continue;
                }
                Frame frame = FrameReader.read(wire, 131_072);
                assertThat(frame).isNotNull();
                Expected expected = op instanceof Header h
                        ? model.onHeader(h.classId(), h.size(), h.properties())
                        : model.onBody(bodies.get(i));
                ContentAssembler.Result result;
                try {
                    result = assembler.onContentFrame(frame);
                } catch (AmqpException e) {
                    assertThat(e.replyCode()).as(e.getMessage()).isEqualTo(expected.errorCode());
                    return; // the channel closes here
                }
                assertThat(expected.errorCode())
                        .as("the model expected an error")
                        .isZero();
                if (expected.completedBody() == null) {
                    assertThat(result).isNull();
                } else {
                    assertThat(result).isNotNull();
                    try {
                        assertThat(ByteBufUtil.getBytes(result.body())).isEqualTo(expected.completedBody());
                        assertThat(ByteBufUtil.getBytes(result.properties())).isEqualTo(expected.completedProperties());
                        assertThat(result.publish().exchange()).isEqualTo("x");
                    } finally {
                        result.body().release();
                        result.properties().release();
                    }
                }
                assertThat(assembler.inProgress()).isEqualTo(model.publishing);
            }
        } finally {
            assembler.release(); // what the channel does when it closes
            assertThat(wire.refCnt()).as("slices of the input still referenced").isEqualTo(1);
            wire.release();
        }
    }

    private static byte[] bytes(int length, int[] counter) {
        byte[] out = new byte[length];
        for (int i = 0; i < length; i++) {
            out[i] = (byte) counter[0]++;
        }
        return out;
    }
}
