package dev.courier.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

/** Field tables: every value type, nesting, and the tags that decode to wider types. */
class FieldTableTest {
    @Property(tries = 300)
    void shouldRoundTripRandomTables(@ForAll long seed) {
        Map<String, Object> table = randomTable(new Random(seed), 3);
        ByteBuf buffer = Unpooled.buffer();
        try {
            FieldTables.write(buffer, table);
            assertThat(buffer.readableBytes()).isEqualTo(FieldTables.encodedSize(table));
            assertDeepEquals(FieldTables.read(buffer), table);
            assertThat(buffer.isReadable()).isFalse();
        } finally {
            buffer.release();
        }
    }

    private static void assertDeepEquals(Object actual, Object expected) {
        if (expected instanceof byte[] bytes) {
            assertThat((byte[]) actual).isEqualTo(bytes);
        } else if (expected instanceof Map<?, ?> map) {
            Map<?, ?> got = (Map<?, ?>) actual;
            assertThat(new ArrayList<Object>(got.keySet())).isEqualTo(new ArrayList<Object>(map.keySet()));
            map.forEach((k, v) -> assertDeepEquals(got.get(k), v));
        } else if (expected instanceof List<?> list) {
            List<?> got = (List<?>) actual;
            assertThat(got).hasSameSizeAs(list);
            for (int i = 0; i < list.size(); i++) {
                assertDeepEquals(got.get(i), list.get(i));
            }
        } else {
            assertThat(actual).isEqualTo(expected);
        }
    }

    static Map<String, Object> randomTable(Random random, int depth) {
        Map<String, Object> table = new LinkedHashMap<>();
        int size = random.nextInt(6);
        for (int i = 0; i < size; i++) {
            table.put("k" + i + MethodRoundTripTest.randomString(random, 10), randomValue(random, depth));
        }
        return table;
    }

    private static Object randomValue(Random random, int depth) {
        int kinds = depth > 0 ? 16 : 14;
        return switch (random.nextInt(kinds)) {
            case 0 -> MethodRoundTripTest.randomString(random, 50);
            case 1 -> random.nextInt();
            case 2 -> random.nextLong();
            case 3 -> random.nextBoolean();
            case 4 -> (byte) random.nextInt();
            case 5 -> (short) random.nextInt();
            case 6 -> random.nextFloat();
            case 7 -> random.nextDouble();
            case 8 -> BigDecimal.valueOf(random.nextInt(), random.nextInt(10));
            case 9 -> Instant.ofEpochSecond(random.nextInt(Integer.MAX_VALUE));
            case 10 -> {
                byte[] bytes = new byte[random.nextInt(10)];
                random.nextBytes(bytes);
                yield bytes;
            }
            case 11, 12 -> null;
            case 13 -> "";
            case 14 -> randomTable(random, depth - 1);
            default -> {
                List<Object> list = new ArrayList<>();
                for (int i = random.nextInt(4); i > 0; i--) {
                    list.add(randomValue(random, depth - 1));
                }
                yield list;
            }
        };
    }

    @Test
    void shouldDecodeUnsignedTagsThatPikaAndRabbitMqSend() {
        ByteBuf buffer = Unpooled.buffer();
        int start = buffer.writerIndex();
        buffer.writeInt(0);
        writeKey(buffer, "B").writeByte('B').writeByte(200);
        writeKey(buffer, "u").writeByte('u').writeShort(60000);
        writeKey(buffer, "i").writeByte('i').writeInt(-1);
        buffer.setInt(start, buffer.writerIndex() - 4);
        Map<String, Object> table = FieldTables.read(buffer);
        assertThat(table)
                .containsEntry("B", (short) 200)
                .containsEntry("u", 60000)
                .containsEntry("i", 4294967295L);
        buffer.release();
    }

    private static ByteBuf writeKey(ByteBuf buffer, String key) {
        buffer.writeByte(key.length()).writeBytes(key.getBytes(StandardCharsets.US_ASCII));
        return buffer;
    }

    @Test
    void shouldRejectATruncatedTableWithAProtocolException() {
        ByteBuf buffer = Unpooled.buffer();
        buffer.writeInt(50).writeBytes(new byte[10]);
        assertThatThrownBy(() -> FieldTables.read(buffer))
                .isInstanceOf(ProtocolException.class)
                .hasMessageContaining("overruns");
        buffer.release();
    }

    @Test
    void shouldRejectAnUnknownValueType() {
        ByteBuf buffer = Unpooled.buffer();
        buffer.writeInt(3);
        writeKey(buffer, "k").writeByte('Z');
        assertThatThrownBy(() -> FieldTables.read(buffer))
                .isInstanceOf(ProtocolException.class)
                .hasMessageContaining("unknown field table value type 'Z'");
        buffer.release();
    }

    @Test
    void shouldRefuseToEncodeAnUnsupportedType() {
        ByteBuf buffer = Unpooled.buffer();
        assertThatThrownBy(() -> FieldTables.write(buffer, Map.of("k", new Object())))
                .isInstanceOf(IllegalArgumentException.class);
        buffer.release();
        assertThat(Arrays.asList(1, 2)).hasSize(2);
    }
}
