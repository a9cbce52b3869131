package dev.courier.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.courier.client.examples.ClaimCheckExample;
import dev.courier.client.examples.CompetingConsumersExample;
import dev.courier.client.examples.ExactlyOnceExample;
import dev.courier.client.examples.PoisonMessageExample;
import dev.courier.client.examples.PriorityQueueExample;
import dev.courier.client.examples.PublishSubscribeExample;
import dev.courier.client.examples.QueueExample;
import dev.courier.client.examples.RequestResponseExample;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** Runs every example of docs/patterns.md against a real broker and checks what it prints. */
class ExamplesTest {
    @RegisterExtension
    static final TestBroker broker = new TestBroker();

    static final List<Class<?>> EXAMPLES = List.of(
            QueueExample.class,
            PublishSubscribeExample.class,
            CompetingConsumersExample.class,
            RequestResponseExample.class,
            PriorityQueueExample.class,
            ClaimCheckExample.class,
            ExactlyOnceExample.class,
            PoisonMessageExample.class);

    @Test
    void shouldRunTheQueueExample() throws Exception {
        assertThat(QueueExample.run(broker.factory())).containsExactly("wash", "dry", "fold");
    }

    @Test
    void shouldRunThePublishSubscribeExample() throws Exception {
        assertThat(PublishSubscribeExample.run(broker.factory())).containsExactly("extra!", "extra!", "extra!");
    }

    @Test
    void shouldRunTheCompetingConsumersExample() throws Exception {
        Map<String, Integer> jobsPerWorker = CompetingConsumersExample.run(broker.factory());
        assertThat(jobsPerWorker)
                .containsOnlyKeys("courier-worker-jobs-0", "courier-worker-jobs-1", "courier-worker-jobs-2");
        assertThat(jobsPerWorker.values().stream().mapToInt(Integer::intValue).sum())
                .isEqualTo(12);
    }

    @Test
    void shouldRunTheRequestResponseExample() throws Exception {
        assertThat(RequestResponseExample.run(broker.factory())).isEqualTo("144");
    }

    @Test
    void shouldRunThePriorityQueueExample() throws Exception {
        assertThat(PriorityQueueExample.run(broker.factory())).containsExactly("invoice", "receipt", "memo", "report");
    }

    @Test
    void shouldRunTheClaimCheckExample(@TempDir Path store) throws Exception {
        assertThat(ClaimCheckExample.run(broker.factory(), store)).isEqualTo(20 * 1024 * 1024);
        try (Stream<Path> left = Files.list(store)) {
            assertThat(left).as("payload deleted after the ack").isEmpty();
        }
    }

    @Test
    void shouldRunTheExactlyOnceExample(@TempDir Path dbDir) throws Exception {
        try (H2Database db = new H2Database(dbDir)) {
            assertThat(ExactlyOnceExample.run(broker.factory(), db.dataSource()))
                    .isEqualTo(1);
        }
    }

    @Test
    void shouldRunThePoisonMessageExample() throws Exception {
        assertThat(PoisonMessageExample.run(broker.factory())).isEqualTo("poison{ died of delivery_limit");
    }

    @Test
    void shouldRunEveryExampleFile() throws Exception {
        try (Stream<Path> files = Files.list(PatternsDocTest.EXAMPLES)) {
            assertThat(files.map(f -> f.getFileName().toString()))
                    .containsExactlyInAnyOrderElementsOf(EXAMPLES.stream()
                            .map(c -> c.getSimpleName() + ".java")
                            .toList());
        }
    }
}
