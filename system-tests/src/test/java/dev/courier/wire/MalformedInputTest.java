package dev.courier.wire;

import static org.assertj.core.api.Assertions.assertThat;

import dev.courier.protocol.Amqp;
import dev.courier.protocol.FrameWriter;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Bad input on the wire gets the right reply code and closes only the offending connection.
 * After every case a well-behaved client must still be served.
 */
class MalformedInputTest {
    @RegisterExtension
    static final CourierBroker broker = new CourierBroker();

    private RawAmqpClient raw;

    @BeforeEach
    void connect() throws Exception {
        raw = new RawAmqpClient(broker.host(), broker.port());
    }

    @org.junit.jupiter.api.AfterEach
    void brokerStillServesOthers() throws Exception {
        raw.close();
        assertThat(broker.connect().createChannel().queueDeclare().getQueue()).startsWith("amq.gen-");
    }

    @Test
    void shouldAnswerAWrongProtocolHeaderWithItsOwnAndClose() throws Exception {
        raw.send(new byte[] {'A', 'M', 'Q', 'P', 0, 0, 10, 0});
        assertThat(raw.readUntilClosed()).containsExactly('A', 'M', 'Q', 'P', 0, 0, 9, 1);
    }

    @Test
    void shouldAnswerHttpWithTheAmqpHeaderAndClose() throws Exception {
        raw.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        assertThat(raw.readUntilClosed()).containsExactly('A', 'M', 'Q', 'P', 0, 0, 9, 1);
    }

    @Test
    void shouldCloseWith501OnABadFrameEnd() throws Exception {
        raw.handshake();
        ByteBuf frame = Unpooled.buffer();
        FrameWriter.writeMethod(frame, 1, new Amqp.Channel.Open(""));
        frame.setByte(frame.writerIndex() - 1, 0x00);
        raw.send(frame);
        assertThat(raw.expect(Amqp.Connection.Close.class).replyCode()).isEqualTo(501);
        assertThat(raw.closedByPeer()).isTrue();
    }

    @Test
    void shouldCloseWith501OnAFrameLargerThanFrameMax() throws Exception {
        raw.handshake();
        ByteBuf header = Unpooled.buffer();
        header.writeByte(3).writeShort(1).writeInt(10_000_000); // claims 10 MB, sends only the header
        raw.send(header);
        Amqp.Connection.Close close = raw.expect(Amqp.Connection.Close.class);
        assertThat(close.replyCode()).isEqualTo(501);
        assertThat(close.replyText()).startsWith("FRAME_ERROR").contains("10000000");
    }

    @Test
    void shouldCloseWith503OnAnUnknownMethod() throws Exception {
        raw.handshake();
        ByteBuf frame = Unpooled.buffer();
        frame.writeByte(1)
                .writeShort(0)
                .writeInt(4)
                .writeShort(99)
                .writeShort(7)
                .writeByte(0xCE);
        raw.send(frame);
        Amqp.Connection.Close close = raw.expect(Amqp.Connection.Close.class);
        assertThat(close.replyCode()).isEqualTo(503);
        assertThat(close.classId()).isEqualTo(99);
    }

    @Test
    void shouldCloseWith501OnATruncatedFieldTableAsRabbitMqDoes() throws Exception {
        raw.handshake();
        raw.sendMethod(1, new Amqp.Channel.Open(""));
        raw.expect(Amqp.Channel.OpenOk.class);
        ByteBuf payload = Unpooled.buffer();
        payload.writeShort(50).writeShort(10); // queue.declare
        payload.writeShort(0).writeByte(1).writeByte('q').writeByte(0); // ticket, "q", bits
        payload.writeInt(100)
                .writeByte(3)
                .writeBytes("abc".getBytes(StandardCharsets.US_ASCII)); // table claims 100 bytes
        ByteBuf frame = Unpooled.buffer();
        frame.writeByte(1)
                .writeShort(1)
                .writeInt(payload.readableBytes())
                .writeBytes(payload)
                .writeByte(0xCE);
        payload.release();
        raw.send(frame);
        Amqp.Connection.Close close = raw.expect(Amqp.Connection.Close.class);
        assertThat(close.replyCode()).isEqualTo(501);
        assertThat(close.replyText()).startsWith("FRAME_ERROR");
    }

    @Test
    void shouldCloseWith505OnABodyFrameWithoutAPublish() throws Exception {
        raw.handshake();
        raw.sendMethod(1, new Amqp.Channel.Open(""));
        raw.expect(Amqp.Channel.OpenOk.class);
        ByteBuf frame = Unpooled.buffer();
        FrameWriter.writeBodyFrame(frame, 1, Unpooled.wrappedBuffer(new byte[] {1, 2, 3}));
        raw.send(frame);
        assertThat(raw.expect(Amqp.Connection.Close.class).replyCode()).isEqualTo(505);
    }

    @Test
    void shouldCloseWith505WhenAMethodInterruptsContent() throws Exception {
        raw.handshake();
        raw.sendMethod(1, new Amqp.Channel.Open(""));
        raw.expect(Amqp.Channel.OpenOk.class);
        raw.sendMethod(1, new Amqp.Basic.Publish("", "q", false, false));
        raw.sendMethod(1, new Amqp.Queue.Declare("q", false, false, false, false, false, java.util.Map.of()));
        assertThat(raw.expect(Amqp.Connection.Close.class).replyCode()).isEqualTo(505);
    }

    @Test
    void shouldCloseWith504OnAMethodForAChannelThatIsNotOpen() throws Exception {
        raw.handshake();
        raw.sendMethod(7, new Amqp.Queue.Declare("q", false, false, false, false, false, java.util.Map.of()));
        assertThat(raw.expect(Amqp.Connection.Close.class).replyCode()).isEqualTo(504);
    }

    @Test
    void shouldCloseWith504OnASecondChannelOpen() throws Exception {
        raw.handshake();
        raw.sendMethod(1, new Amqp.Channel.Open(""));
        raw.expect(Amqp.Channel.OpenOk.class);
        raw.sendMethod(1, new Amqp.Channel.Open(""));
        assertThat(raw.expect(Amqp.Connection.Close.class).replyCode()).isEqualTo(504);
    }

    @Test
    void shouldCloseWith530WhenAChannelNumberExceedsTheNegotiatedChannelMax() throws Exception {
        // RabbitMQ 3.10 does not enforce channel_max; Courier does, as the spec requires
        org.assertj.core.api.Assumptions.assumeThat(broker.isCourier()).isTrue();
        raw.handshake(); // accepts the offered channel_max of 2047
        raw.sendMethod(2048, new Amqp.Channel.Open(""));
        Amqp.Connection.Close close = raw.expect(Amqp.Connection.Close.class);
        assertThat(close.replyCode()).isEqualTo(530);
    }
}
