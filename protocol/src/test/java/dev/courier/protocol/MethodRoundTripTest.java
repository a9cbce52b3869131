package dev.courier.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.lang.reflect.Constructor;
import java.lang.reflect.RecordComponent;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/** Every method of the spec encodes and decodes back to an equal record. */
class MethodRoundTripTest {
    @Test
    void shouldCoverEveryMethodOfTheSpec() throws Exception {
        var spec = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(java.nio.file.Path.of("../../shared/amqp/amqp-rabbitmq-0.9.1.json")
                        .toFile());
        int methods = 0;
        for (var amqpClass : spec.get("classes")) {
            methods += amqpClass.get("methods").size();
        }
        assertThat(Amqp.METHOD_CLASSES).hasSize(methods);
        assertThat(Amqp.METHOD_COUNT).isEqualTo(methods);
    }

    /** The spec JSON in the shared folder beside the repository (as CI checks it out). */
    private static java.nio.file.Path specFile() {
        for (java.nio.file.Path dir = java.nio.file.Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            java.nio.file.Path candidate = dir.resolve("shared/amqp/amqp-rabbitmq-0.9.1.json");
            if (java.nio.file.Files.exists(candidate)) {
                return candidate;
            }
        }
        throw new AssertionError("shared/amqp/amqp-rabbitmq-0.9.1.json not found beside the repository");
    }

    @Property(tries = 200)
    void shouldRoundTripEveryMethodWithRandomArguments(@ForAll @IntRange(min = 0, max = 1_000_000) int seed)
            throws Exception {
        Random random = new Random(seed);
        for (Class<? extends Method> type : Amqp.METHOD_CLASSES) {
            Method method = randomInstance(type, random);
            ByteBuf buffer = Unpooled.buffer();
            try {
                MethodCodec.encode(method, buffer);
                Method decoded = MethodCodec.decode(buffer);
                assertThat(decoded)
                        .as(type.getName())
                        .usingRecursiveComparison()
                        .isEqualTo(method);
                assertThat(buffer.isReadable())
                        .as("all bytes consumed for " + type.getName())
                        .isFalse();
            } finally {
                buffer.release();
            }
        }
    }

    static Method randomInstance(Class<? extends Method> type, Random random) throws Exception {
        RecordComponent[] components = type.getRecordComponents();
        Class<?>[] types = new Class<?>[components.length];
        Object[] values = new Object[components.length];
        for (int i = 0; i < components.length; i++) {
            types[i] = components[i].getType();
            values[i] = randomValue(components[i], random);
        }
        Constructor<? extends Method> constructor = type.getDeclaredConstructor(types);
        return constructor.newInstance(values);
    }

    private static Object randomValue(RecordComponent component, Random random) {
        Class<?> type = component.getType();
        String name = component.getName();
        if (type == boolean.class) {
            return random.nextBoolean();
        }
        if (type == long.class) {
            return random.nextLong();
        }
        if (type == int.class) {
            // octets and shorts are unsigned on the wire; 32-bit longs use the whole int
            return switch (name) {
                case "versionMajor", "versionMinor" -> random.nextInt(256);
                case "messageCount", "consumerCount", "prefetchSize", "frameMax" -> random.nextInt();
                default -> random.nextInt(65536);
            };
        }
        if (type == String.class) {
            return randomString(random, 40);
        }
        if (type == byte[].class) {
            byte[] bytes = new byte[random.nextInt(20)];
            random.nextBytes(bytes);
            return bytes;
        }
        if (type == Map.class) {
            return FieldTableTest.randomTable(random, 2);
        }
        throw new IllegalStateException("unhandled component type " + type + " of " + name);
    }

    static String randomString(Random random, int maxLength) {
        int length = random.nextInt(maxLength);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < length; i++) {
            int choice = random.nextInt(10);
            sb.append(choice < 8 ? (char) ('a' + random.nextInt(26)) : choice == 8 ? 'é' : '.');
        }
        return sb.toString();
    }

    @Test
    void shouldRoundTripTheSaslResponseAsBytes() {
        byte[] response = {0, 'u', 0, 'p'};
        var startOk = new Amqp.Connection.StartOk(Map.of(), "PLAIN", response, "en_US");
        ByteBuf buffer = Unpooled.buffer();
        MethodCodec.encode(startOk, buffer);
        assertThat(MethodCodec.decode(buffer)).isEqualTo(startOk);
        buffer.release();
    }

    @Test
    void shouldKeepCloseArgumentsApartFromTheMethodsOwnIds() {
        var close = new Amqp.Channel.Close(404, "NOT_FOUND", 50, 10);
        assertThat(close.classId()).isEqualTo(50);
        assertThat(close.methodId()).isEqualTo(10);
        assertThat(close.protocolClassId()).isEqualTo(20);
        assertThat(close.protocolMethodId()).isEqualTo(40);
    }

    @Test
    void shouldPackConsecutiveBitsIntoOneOctet() {
        var declare = new Amqp.Queue.Declare(0, "q", true, false, true, false, true, new LinkedHashMap<>());
        ByteBuf buffer = Unpooled.buffer();
        MethodCodec.encode(declare, buffer);
        // class, method, ticket, shortstr "q", one octet of bits, empty table
        assertThat(buffer.readableBytes()).isEqualTo(2 + 2 + 2 + 2 + 1 + 4);
        assertThat(buffer.getByte(8)).isEqualTo((byte) 0b10101);
        buffer.release();
        assertThat(List.of(
                        declare.passive(),
                        declare.durable(),
                        declare.exclusive(),
                        declare.autoDelete(),
                        declare.nowait()))
                .containsExactly(true, false, true, false, true);
    }
}
