package dev.courier.server.amqp;

import dev.courier.protocol.Amqp;
import dev.courier.store.Blob;
import io.netty.buffer.ByteBuf;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A channel in tx mode (tx.select): the publishes and acknowledgements of the current transaction,
 * held until tx.commit applies them together or tx.rollback drops them. Event loop only, except
 * {@link Commit}, which queue actors complete.
 *
 * <p>Atomic in what consumers see: nothing of a transaction reaches a queue before its commit.
 * Atomic across a crash too, for durable classic queues: the commit writes the transaction's
 * persistent publishes and the removals of the persistent messages it acks as one store record
 * ({@link dev.courier.broker.CommitUnit}). RabbitMQ's classic queues can keep part of a commit.
 */
final class Transaction {
    /** A basic.publish of the transaction; owns its buffers (and large body) until applied or dropped. */
    record Publish(Amqp.Basic.Publish method, ByteBuf properties, ByteBuf body, Blob largeBody) {
        void release() {
            properties.release();
            body.release();
            if (largeBody != null) {
                largeBody.release();
            }
        }
    }

    /** A basic.ack, basic.nack or basic.reject of the transaction. */
    record Settle(long deliveryTag, boolean multiple, AmqpChannel.Settlement settlement) {}

    private final List<Publish> publishes = new ArrayList<>();
    private final List<Settle> settles = new ArrayList<>();

    void publish(Amqp.Basic.Publish method, ByteBuf properties, ByteBuf body, Blob largeBody) {
        publishes.add(new Publish(method, properties, body, largeBody));
    }

    void settle(long deliveryTag, boolean multiple, AmqpChannel.Settlement settlement) {
        settles.add(new Settle(deliveryTag, multiple, settlement));
    }

    /** Hands over what the transaction holds and starts the next one. */
    List<Publish> takePublishes() {
        List<Publish> taken = List.copyOf(publishes);
        publishes.clear();
        return taken;
    }

    List<Settle> takeSettles() {
        List<Settle> taken = List.copyOf(settles);
        settles.clear();
        return taken;
    }

    /** tx.rollback or channel close: drops everything, releasing the held messages. */
    void discard() {
        for (Publish publish : publishes) {
            publish.release();
        }
        publishes.clear();
        settles.clear();
    }

    /**
     * Completes once every queue that a committed publish went to has taken it (after the fsync,
     * for persistent messages on durable queues), so tx.commit-ok means what a confirm means.
     */
    static final class Commit {
        private final AtomicInteger pending = new AtomicInteger(1); // 1 until sealed
        private final CompletableFuture<Void> done = new CompletableFuture<>();

        /** One more publish to wait for. */
        void expect() {
            pending.incrementAndGet();
        }

        /** A publish was taken by all its queues (or refused by one). */
        void taken() {
            if (pending.decrementAndGet() == 0) {
                done.complete(null);
            }
        }

        /** No more publishes; completes when the ones expected are taken. */
        CompletableFuture<Void> seal() {
            taken();
            return done;
        }
    }
}
