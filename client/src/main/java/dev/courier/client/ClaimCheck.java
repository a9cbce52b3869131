package dev.courier.client;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.DeliverCallback;
import com.rabbitmq.client.Delivery;
import java.io.ByteArrayInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The claim-check pattern: a large payload goes to a {@link PayloadStore}, and the message carries
 * only a reference to it in the {@value #HEADER} header (store id, key, size, SHA-256, content
 * type) with an empty body. The consumer side {@link #resolve resolves} the reference back into the
 * payload, checking size and digest, and after the ack deletes the payload or leaves it for a
 * {@link PayloadSweeper}, as {@link Deletion} says.
 *
 * <p>Publisher: {@code claimCheck.publish(channel, exchange, routingKey, props, payload)}.
 * Consumer: {@code channel.basicConsume(queue, false, claimCheck.deliverCallback(channel, handler),
 * tag -> {})}, or {@link #resolve} and {@link #ack} by hand.
 *
 * <p>Use {@link Deletion#KEEP} when one message reaches several queues (fanout, topic): the first
 * consumer to ack would otherwise delete the payload the others still need. Thread-safe; the
 * channel arguments follow amqp-client's rules for channels.
 */
public final class ClaimCheck {
    /** The header that carries the reference. */
    public static final String HEADER = "x-claim-check";

    private static final Logger LOG = LoggerFactory.getLogger(ClaimCheck.class);
    private static final byte[] EMPTY = new byte[0];

    /** What happens to a payload once its message is acked through {@link #ack}. */
    public enum Deletion {
        /** Delete the payload right after the ack (one consumer per message). */
        ON_ACK,
        /** Keep it; a {@link PayloadSweeper} removes payloads older than a TTL. */
        KEEP
    }

    /**
     * The reference a claim-check message carries.
     *
     * @param contentType the payload's content type, or null when the publisher set none
     */
    public record Reference(String storeId, String key, long sizeBytes, String sha256, String contentType) {
        public Reference {
            Objects.requireNonNull(storeId, "storeId");
            Objects.requireNonNull(key, "key");
            Objects.requireNonNull(sha256, "sha256");
        }

        /** The reference in a delivery's headers, if it has one. */
        public static Optional<Reference> of(AMQP.BasicProperties props) throws ClaimCheckException {
            Map<String, Object> headers = props == null ? null : props.getHeaders();
            Object value = headers == null ? null : headers.get(HEADER);
            if (value == null) {
                return Optional.empty();
            }
            if (!(value instanceof Map<?, ?> table)) {
                throw new ClaimCheckException("header " + HEADER + " is not a table: " + value);
            }
            Object size = table.get("size");
            if (!(size instanceof Number sizeBytes)) {
                throw new ClaimCheckException("header " + HEADER + " has no numeric size: " + table);
            }
            String storeId = text(table, "store");
            String key = text(table, "key");
            String sha256 = text(table, "sha256");
            if (storeId == null || key == null || sha256 == null) {
                throw new ClaimCheckException("header " + HEADER + " lacks store, key or sha256: " + table);
            }
            return Optional.of(new Reference(storeId, key, sizeBytes.longValue(), sha256, text(table, "content-type")));
        }

        /** The header table. */
        public Map<String, Object> toHeader() {
            Map<String, Object> table = new LinkedHashMap<>();
            table.put("store", storeId);
            table.put("key", key);
            table.put("size", sizeBytes);
            table.put("sha256", sha256);
            if (contentType != null) {
                table.put("content-type", contentType);
            }
            return table;
        }

        private static String text(Map<?, ?> table, String field) {
            Object value = table.get(field);
            return value == null ? null : value.toString(); // amqp-client decodes strings as LongString
        }
    }

    private final PayloadStore store;
    private final Deletion deletion;
    private final long thresholdBytes;
    private final FailurePolicy onFailure;

    private ClaimCheck(Builder builder) {
        this.store = builder.store;
        this.deletion = builder.deletion;
        this.thresholdBytes = builder.thresholdBytes;
        this.onFailure = builder.onFailure;
    }

    /** A claim check on {@code store}: every payload checked in, deleted on ack, failures requeued. */
    public static Builder builder(PayloadStore store) {
        return new Builder(store);
    }

    public PayloadStore store() {
        return store;
    }

    /**
     * Publishes {@code payload}: inline when it is at most the threshold, otherwise through the
     * store. Returns the properties sent. When the publish fails, the stored payload is deleted.
     */
    public AMQP.BasicProperties publish(
            Channel channel, String exchange, String routingKey, AMQP.BasicProperties props, byte[] payload)
            throws IOException {
        if (payload.length <= thresholdBytes) {
            channel.basicPublish(exchange, routingKey, props, payload);
            return props;
        }
        return publish(channel, exchange, routingKey, props, new ByteArrayInputStream(payload));
    }

    /**
     * Stores the stream's content (of any length: it is never held in memory whole) and publishes
     * the reference. Returns the properties sent. When the publish fails, the payload is deleted.
     */
    public AMQP.BasicProperties publish(
            Channel channel, String exchange, String routingKey, AMQP.BasicProperties props, InputStream payload)
            throws IOException {
        AMQP.BasicProperties sent = checkIn(props, payload);
        try {
            channel.basicPublish(exchange, routingKey, sent, EMPTY);
        } catch (IOException | RuntimeException e) {
            Reference reference = Reference.of(sent).orElseThrow();
            try {
                store.delete(reference.key());
            } catch (IOException | RuntimeException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
        return sent;
    }

    /**
     * Stores a payload and returns {@code props} plus the reference header, for an application that
     * publishes the (empty-bodied) message itself.
     */
    public AMQP.BasicProperties checkIn(AMQP.BasicProperties props, InputStream payload) throws IOException {
        AMQP.BasicProperties base = props == null ? new AMQP.BasicProperties() : props;
        MessageDigest sha256 = sha256();
        CountingInputStream counted = new CountingInputStream(new DigestInputStream(payload, sha256));
        String key = store.put(counted);
        Reference reference = new Reference(
                store.id(), key, counted.count, HexFormat.of().formatHex(sha256.digest()), base.getContentType());
        Map<String, Object> headers = base.getHeaders() == null ? new HashMap<>() : new HashMap<>(base.getHeaders());
        headers.put(HEADER, reference.toHeader());
        return base.builder().headers(headers).build();
    }

    /**
     * The delivery with its payload in place of the reference; a delivery without a reference is
     * returned as it is. The headers still hold the reference, so {@link #ack} can find it.
     *
     * @throws PayloadNotFoundException when the store has no such payload
     * @throws ClaimCheckException when the reference is malformed, for another store, or the
     *     payload's size or digest does not match it
     */
    public Delivery resolve(Delivery delivery) throws IOException {
        Optional<Reference> reference = Reference.of(delivery.getProperties());
        if (reference.isEmpty()) {
            return delivery;
        }
        if (reference.get().sizeBytes() > Integer.MAX_VALUE - 8) {
            throw new ClaimCheckException("payload '" + reference.get().key() + "' is "
                    + reference.get().sizeBytes() + " bytes, too large for one array; read it with openPayload");
        }
        byte[] payload;
        try (InputStream in = openPayload(delivery)) {
            payload = in.readAllBytes();
        }
        return new Delivery(delivery.getEnvelope(), delivery.getProperties(), payload);
    }

    /**
     * Opens the payload of a claim-check delivery as a stream (for payloads too large for memory),
     * or the body itself when the delivery carries no reference. The stream throws a {@link
     * ClaimCheckException} at its end when size or digest do not match the reference.
     */
    public InputStream openPayload(Delivery delivery) throws IOException {
        Optional<Reference> found = Reference.of(delivery.getProperties());
        if (found.isEmpty()) {
            return new ByteArrayInputStream(delivery.getBody());
        }
        Reference reference = found.get();
        if (!reference.storeId().equals(store.id())) {
            throw new ClaimCheckException("reference to payload '" + reference.key() + "' names store '"
                    + reference.storeId() + "', but this claim check reads store '" + store.id() + "'");
        }
        return new VerifyingInputStream(store.open(reference.key()), reference);
    }

    /**
     * Acks the delivery on {@code channel} and then, with {@link Deletion#ON_ACK}, deletes its
     * payload. A failed deletion is logged, not thrown: the message is already acked, and the
     * sweeper removes the payload later.
     */
    public void ack(Channel channel, Delivery delivery) throws IOException {
        channel.basicAck(delivery.getEnvelope().getDeliveryTag(), false);
        if (deletion != Deletion.ON_ACK) {
            return;
        }
        try {
            Optional<Reference> reference = Reference.of(delivery.getProperties());
            if (reference.isPresent()) {
                store.delete(reference.get().key());
            }
        } catch (IOException | RuntimeException e) {
            LOG.warn("acked a claim-check message but could not delete its payload; the sweeper will", e);
        }
    }

    /**
     * A consumer callback for manual-ack consumers on {@code channel}: resolves each delivery, runs
     * {@code handler}, then {@link #ack acks}. A handler failure settles the message by the failure
     * policy, and so does a store that fails to read; a reference that cannot be resolved (missing
     * or corrupt payload) is rejected without requeue, since retrying cannot help, and logged with
     * its key.
     */
    public DeliverCallback deliverCallback(Channel channel, DeliveryHandler handler) {
        return (consumerTag, delivery) -> {
            long tag = delivery.getEnvelope().getDeliveryTag();
            Delivery resolved;
            try {
                resolved = resolve(delivery);
            } catch (ClaimCheckException e) {
                LOG.error("rejecting message {}: {}", delivery.getProperties().getMessageId(), e.getMessage());
                channel.basicReject(tag, false);
                return;
            } catch (IOException e) {
                // the store itself failed (disk, network): maybe transient, so it counts as a failure
                LOG.warn(
                        "could not read the payload of message {}; {}",
                        delivery.getProperties().getMessageId(),
                        onFailure,
                        e);
                onFailure.settle(channel, tag);
                return;
            }
            try {
                handler.handle(resolved);
            } catch (Exception e) {
                LOG.warn(
                        "handler failed for message {}; {}",
                        delivery.getProperties().getMessageId(),
                        onFailure,
                        e);
                onFailure.settle(channel, tag);
                return;
            }
            ack(channel, delivery);
        };
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }

    /** Options for a {@link ClaimCheck}. */
    public static final class Builder {
        private final PayloadStore store;
        private Deletion deletion = Deletion.ON_ACK;
        private long thresholdBytes;
        private FailurePolicy onFailure = FailurePolicy.REQUEUE;

        private Builder(PayloadStore store) {
            this.store = Objects.requireNonNull(store, "store");
        }

        /** What {@link #ack} does with the payload; default {@link Deletion#ON_ACK}. */
        public Builder deletion(Deletion value) {
            this.deletion = Objects.requireNonNull(value);
            return this;
        }

        /**
         * Byte-array payloads of at most this size are sent inline, as ordinary messages; default 0
         * (every payload goes through the store).
         */
        public Builder thresholdBytes(long value) {
            if (value < 0) {
                throw new IllegalArgumentException("thresholdBytes must be >= 0: " + value);
            }
            this.thresholdBytes = value;
            return this;
        }

        /** What {@link #deliverCallback} does when the handler throws; default requeue. */
        public Builder onFailure(FailurePolicy value) {
            this.onFailure = Objects.requireNonNull(value);
            return this;
        }

        public ClaimCheck build() {
            return new ClaimCheck(this);
        }
    }

    private static final class CountingInputStream extends FilterInputStream {
        private long count;

        CountingInputStream(InputStream in) {
            super(in);
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0) {
                count++;
            }
            return b;
        }

        @Override
        public int read(byte[] buffer, int offset, int length) throws IOException {
            int n = super.read(buffer, offset, length);
            if (n > 0) {
                count += n;
            }
            return n;
        }

        @Override
        public long skip(long n) throws IOException {
            return discard(this, n);
        }
    }

    /** Counts and hashes what it passes on, and checks both against the reference at the end. */
    private static final class VerifyingInputStream extends FilterInputStream {
        private final Reference reference;
        private final MessageDigest digest = sha256();
        private long count;
        private boolean verified;

        VerifyingInputStream(InputStream in, Reference reference) {
            super(in);
            this.reference = reference;
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b < 0) {
                verify();
            } else {
                digest.update((byte) b);
                count++;
            }
            return b;
        }

        @Override
        public int read(byte[] buffer, int offset, int length) throws IOException {
            int n = super.read(buffer, offset, length);
            if (n < 0) {
                verify();
            } else {
                digest.update(buffer, offset, n);
                count += n;
            }
            return n;
        }

        @Override
        public long skip(long n) throws IOException {
            return discard(this, n);
        }

        @Override
        public boolean markSupported() {
            return false;
        }

        private void verify() throws ClaimCheckException {
            if (verified) {
                return;
            }
            verified = true;
            if (count != reference.sizeBytes()) {
                throw new ClaimCheckException("payload '" + reference.key() + "' has " + count
                        + " bytes, but its reference says " + reference.sizeBytes());
            }
            String actual = HexFormat.of().formatHex(digest.digest());
            if (!actual.equalsIgnoreCase(reference.sha256())) {
                throw new ClaimCheckException("payload '" + reference.key() + "' has SHA-256 " + actual
                        + ", but its reference says " + reference.sha256());
            }
        }
    }

    // skip through read() so that the bytes are still counted and hashed
    private static long discard(InputStream in, long n) throws IOException {
        byte[] scratch = new byte[8192];
        long skipped = 0;
        while (skipped < n) {
            int read = in.read(scratch, 0, (int) Math.min(scratch.length, n - skipped));
            if (read < 0) {
                break;
            }
            skipped += read;
        }
        return skipped;
    }
}
