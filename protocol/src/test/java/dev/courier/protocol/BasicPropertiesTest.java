package dev.courier.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.time.Instant;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;

/** The 14 basic properties round-trip with any subset present. */
class BasicPropertiesTest {
    @Property(tries = 500)
    void shouldRoundTripAnySubsetOfProperties(@ForAll long seed, @ForAll short presence) {
        Random random = new Random(seed);
        BasicProperties properties = new BasicProperties(
                bit(presence, 0) ? "text/plain" : null,
                bit(presence, 1) ? "gzip" : null,
                bit(presence, 2) ? FieldTableTest.randomTable(random, 1) : null,
                bit(presence, 3) ? random.nextInt(256) : null,
                bit(presence, 4) ? random.nextInt(256) : null,
                bit(presence, 5) ? MethodRoundTripTest.randomString(random, 30) : null,
                bit(presence, 6) ? MethodRoundTripTest.randomString(random, 30) : null,
                bit(presence, 7) ? "60000" : null,
                bit(presence, 8) ? MethodRoundTripTest.randomString(random, 30) : null,
                bit(presence, 9) ? Instant.ofEpochSecond(random.nextInt(Integer.MAX_VALUE)) : null,
                bit(presence, 10) ? "type" : null,
                bit(presence, 11) ? "guest" : null,
                bit(presence, 12) ? "app" : null,
                bit(presence, 13) ? "cluster" : null);
        ByteBuf buffer = Unpooled.buffer();
        properties.encode(buffer);
        BasicProperties decoded = BasicProperties.decode(buffer);
        assertThat(buffer.isReadable()).isFalse();
        assertThat(decoded.withHeaders(null)).isEqualTo(properties.withHeaders(null));
        assertThat(decoded.headers() == null).isEqualTo(properties.headers() == null);
        buffer.release();
    }

    private static boolean bit(short presence, int index) {
        return (presence & (1 << index)) != 0;
    }
}
