package dev.courier.store;

import static dev.courier.store.TestMessages.assertReadable;
import static dev.courier.store.TestMessages.await;
import static dev.courier.store.TestMessages.ids;
import static dev.courier.store.TestMessages.publish;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A transaction's publishes and removals are recovered all together or not at all. */
class StoreTransactionTest {
    @TempDir
    Path dir;

    @TempDir
    Path crashed;

    /** Messages 1-3 on "in"; a transaction removes 1 and 2 and publishes 10 and 11 to "out". */
    private long[] committedTransaction() throws IOException {
        long groupStart;
        long groupEnd;
        try (MessageStore store = MessageStore.open(dir, StoreConfig.defaults())) {
            StoreQueue in = store.queue("in");
            StoreQueue out = store.queue("out");
            for (long id = 1; id <= 3; id++) {
                await(publish(store, id, 200, in));
            }
            await(store.flush());
            groupStart = RecordFormat.offsetOf(store.appliedPosition());
            StoreTransaction tx = new StoreTransaction();
            tx.remove(in, 1);
            tx.remove(in, 2);
            transactionalPublish(tx, 10, out);
            transactionalPublish(tx, 11, out);
            await(store.commit(tx));
            groupEnd = RecordFormat.offsetOf(store.appliedPosition());
            assertThat(store.locationOf(10))
                    .isEqualTo(RecordFormat.location(
                            RecordFormat.segmentOf(store.appliedPosition()), groupStart + RecordFormat.TX_GROUP_BYTES));
            CrashImage.copy(store, crashed);
        }
        return new long[] {groupStart, groupEnd};
    }

    private static void transactionalPublish(StoreTransaction tx, long id, StoreQueue queue) {
        ByteBuf header = TestMessages.header(id);
        ByteBuf body = TestMessages.body(id, 300);
        try {
            tx.publish(id, 0, header, body, List.of(queue));
        } finally {
            header.release();
            body.release();
        }
    }

    @Test
    void shouldRecoverEveryPartOfACommittedTransaction() throws IOException {
        committedTransaction();
        for (Path image : List.of(dir, crashed)) { // after a clean close and after a crash
            try (MessageStore store = MessageStore.open(image, StoreConfig.defaults())) {
                assertThat(ids(store.recovered().queues().get("in"))).containsExactly(3L);
                assertThat(ids(store.recovered().queues().get("out"))).containsExactly(10L, 11L);
                assertReadable(store, 10, 300);
                assertReadable(store, 11, 300);
                assertThat(store.recoveryReport().corruptRegions()).isEmpty();
            }
        }
    }

    @Test
    void shouldApplyNoneOfATransactionTornAtAnyByte() throws IOException {
        long[] group = committedTransaction();
        Path last = CrashImage.lastSegment(crashed);
        byte[] image = Files.readAllBytes(last);
        for (long cut = group[0] + 1; cut < group[1]; cut++) {
            Path copy = Files.createTempDirectory(dir, "cut");
            Files.write(copy.resolve(last.getFileName()), java.util.Arrays.copyOf(image, (int) cut));
            try (MessageStore store = MessageStore.open(copy, StoreConfig.defaults())) {
                assertThat(ids(store.recovered().queues().get("in")))
                        .as("cut at %d", cut)
                        .containsExactly(1L, 2L, 3L);
                assertThat(store.recovered().queues().get("out").messageCount()).isZero();
                // bytes that are all zero cannot be told from a preallocated segment's unwritten
                // rest: cut silently, not reported as a torn record; the file ends at the group
                // start either way
                long torn = keptOnlyZeros(image, group[0], cut) ? 0 : cut - group[0];
                assertThat(store.recoveryReport().truncatedBytes()).isEqualTo(torn);
                assertThat(store.recoveryReport().corruptRegions()).isEmpty();
                assertReadable(store, 1, 200);
            }
            assertThat(Files.size(copy.resolve(last.getFileName()))).isEqualTo(group[0]);
        }
    }

    private static boolean keptOnlyZeros(byte[] image, long from, long to) {
        for (long i = from; i < to; i++) {
            if (image[(int) i] != 0) {
                return false;
            }
        }
        return true;
    }

    @Test
    void shouldSkipADamagedTransactionWholeAndKeepTheRecordsAfterIt() throws IOException {
        long[] group = committedTransaction();
        try (MessageStore store = MessageStore.open(crashed, StoreConfig.defaults())) {
            await(publish(store, 20, 100, store.queue("in"))); // a new segment, after the group's
        }
        Path groupSegment = CrashImage.segments(crashed).firstEntry().getValue();
        Files.deleteIfExists(crashed.resolve(StoreFiles.CHECKPOINT));
        // damage the last member (the removals), in a segment that is no longer the last one
        CrashImage.flipByte(groupSegment, group[1] - 3);

        try (MessageStore store = MessageStore.open(crashed, StoreConfig.defaults())) {
            RecoveryReport report = store.recoveryReport();
            assertThat(report.corruptRegions()).hasSize(1);
            assertThat(report.corruptRegions().get(0).offsetBytes()).isEqualTo(group[0]);
            assertThat(report.corruptRegions().get(0).skippedBytes()).isEqualTo(group[1] - group[0]);
            assertThat(ids(store.recovered().queues().get("in"))).containsExactly(1L, 2L, 3L, 20L);
            assertThat(store.recovered().queues().get("out").messageCount()).isZero();
        }
    }

    @Test
    void shouldReleaseTheBuffersOfADiscardedTransactionAndRefuseReuse() throws IOException {
        try (MessageStore store = MessageStore.open(dir, StoreConfig.defaults())) {
            StoreQueue q = store.queue("q");
            ByteBuf header = TestMessages.header(1);
            ByteBuf body = TestMessages.body(1, 10);
            StoreTransaction tx = new StoreTransaction();
            tx.publish(1, 0, header, body, List.of(q));
            tx.discard();
            assertThat(header.refCnt()).isEqualTo(1);
            assertThat(body.refCnt()).isEqualTo(1);
            header.release();
            body.release();
            assertThatThrownBy(() -> store.commit(tx)).isInstanceOf(IllegalStateException.class);
            assertThat(store.commit(new StoreTransaction())).isCompleted();
        }
    }
}
