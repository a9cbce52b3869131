package dev.courier.cluster.fifo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/** Commands and replies survive their binary encoding; the type byte comes first. */
class CommandCodecTest {
    @Property(tries = 500)
    void shouldRoundTripEveryCommandType(@ForAll @IntRange(min = 0, max = 11) int type, @ForAll long seed)
            throws IOException {
        Command command = new RandomCommands(new Random(seed)).anyCommand(type);
        byte[] encoded = encode(command);
        assertThat(decode(encoded)).isEqualTo(command);
    }

    @Property(tries = 200)
    void shouldRoundTripRandomCommandsBackToBackInOneStream(@ForAll long seed) throws IOException {
        RandomCommands commands = new RandomCommands(new Random(seed));
        Command[] written = new Command[20];
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(buffer)) {
            for (int i = 0; i < written.length; i++) {
                written[i] = commands.anyCommand();
                written[i].writeTo(out);
            }
        }
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(buffer.toByteArray()))) {
            for (Command command : written) {
                assertThat(Command.readFrom(in)).isEqualTo(command);
            }
            assertThat(in.read()).isEqualTo(-1);
        }
    }

    @Test
    void shouldGiveEachCommandTypeItsOwnTypeByte() throws IOException {
        RandomCommands commands = new RandomCommands(new Random(1));
        Set<Byte> typeBytes = new HashSet<>();
        for (int type = 0; type < RandomCommands.COMMAND_TYPES; type++) {
            typeBytes.add(encode(commands.anyCommand(type))[0]);
        }
        assertThat(typeBytes).hasSize(RandomCommands.COMMAND_TYPES);
        assertThat(encode(new Command.Tick())).containsExactly(12);
    }

    @Test
    void shouldReadAGetOfTheEncodingBeforeTokensWithTokenZero() throws IOException {
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(buffer)) { // as logs written before tokens hold it
            out.writeByte(9);
            out.writeUTF("q");
            out.writeUTF("n1/get");
            out.writeUTF("n1");
            out.writeBoolean(false);
        }
        assertThat(decode(buffer.toByteArray())).isEqualTo(new Command.Get("q", "n1/get", "n1", false, 0));
        assertThat(encode(new Command.Get("q", "n1/get", "n1", false, 7))[0]).isEqualTo((byte) 15);
    }

    @Test
    void shouldRefuseAnUnknownTypeByte() {
        assertThatThrownBy(() -> decode(new byte[] {99}))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("99");
    }

    @Property(tries = 200)
    void shouldRoundTripSettings(@ForAll long seed) throws IOException {
        QueueSettings settings = new RandomCommands(new Random(seed)).anySettings();
        assertThat(decode(encode(new Command.DeclareQueue("q", settings))))
                .isEqualTo(new Command.DeclareQueue("q", settings));
    }

    @Property(tries = 200)
    void shouldRoundTripReplies(@ForAll long seed) throws IOException {
        Random random = new Random(seed);
        Reply[] replies = {
            Reply.OK,
            Reply.GET_EMPTY,
            new Reply.NoSuchQueue("q" + random.nextInt()),
            new Reply.Enqueued(Reply.EnqueueOutcome.values()[random.nextInt(3)]),
            new Reply.Count(random.nextLong()),
            new Reply.GetOk(random.nextLong(), random.nextInt())
        };
        for (Reply reply : replies) {
            ByteArrayOutputStream buffer = new ByteArrayOutputStream();
            try (DataOutputStream out = new DataOutputStream(buffer)) {
                reply.writeTo(out);
            }
            Reply decoded = Reply.readFrom(new DataInputStream(new ByteArrayInputStream(buffer.toByteArray())));
            assertThat(decoded).isEqualTo(reply);
        }
    }

    static byte[] encode(Command command) throws IOException {
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(buffer)) {
            command.writeTo(out);
        }
        return buffer.toByteArray();
    }

    static Command decode(byte[] bytes) throws IOException {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes))) {
            Command command = Command.readFrom(in);
            assertThat(in.read()).isEqualTo(-1);
            return command;
        }
    }
}
