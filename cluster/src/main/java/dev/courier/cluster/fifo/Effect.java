package dev.courier.cluster.fifo;

import java.util.Arrays;
import java.util.Objects;

/**
 * A side effect of applying a command, for the leader (or the consumer's node) to carry out.
 * Every replica computes the same effects; only the one that owns the consumer or the leader acts
 * on them. Immutable; the message arrays are shared with the state and must not be changed.
 */
public sealed interface Effect {
    /** The queue the effect concerns. */
    String queue();

    /**
     * Send a message to a consumer.
     *
     * @param deliveryCount failed deliveries so far (the {@code x-delivery-count} header)
     * @param getToken the {@link Command.Get#token()} of the basic.get this answers; 0 for a
     *     consumer's delivery
     */
    record Deliver(
            String queue,
            String consumerId,
            String node,
            long msgId,
            byte[] message,
            boolean redelivered,
            int deliveryCount,
            long getToken)
            implements Effect {
        @Override
        public boolean equals(Object o) {
            return o instanceof Deliver d
                    && queue.equals(d.queue)
                    && consumerId.equals(d.consumerId)
                    && node.equals(d.node)
                    && msgId == d.msgId
                    && Arrays.equals(message, d.message)
                    && redelivered == d.redelivered
                    && deliveryCount == d.deliveryCount
                    && getToken == d.getToken;
        }

        @Override
        public int hashCode() {
            return Objects.hash(queue, consumerId, node, msgId, redelivered, deliveryCount, getToken)
                    + 31 * Arrays.hashCode(message);
        }

        @Override
        public String toString() {
            return "Deliver[" + queue + ", " + consumerId + "@" + node + ", msgId=" + msgId + ", "
                    + message.length + " bytes, redelivered=" + redelivered + ", deliveryCount=" + deliveryCount
                    + (getToken == 0 ? "" : ", getToken=" + getToken) + "]";
        }
    }

    /**
     * Publish the message to the queue's dead-letter exchange. Emitted only when the queue has one;
     * otherwise the message is dropped and only counted.
     *
     * @param reason "expired", "rejected", "maxlen" or "delivery_limit" (the {@code x-death} reasons)
     */
    record DeadLettered(String queue, byte[] message, String reason, int deliveryCount) implements Effect {
        @Override
        public boolean equals(Object o) {
            return o instanceof DeadLettered d
                    && queue.equals(d.queue)
                    && Arrays.equals(message, d.message)
                    && reason.equals(d.reason)
                    && deliveryCount == d.deliveryCount;
        }

        @Override
        public int hashCode() {
            return Objects.hash(queue, reason, deliveryCount) + 31 * Arrays.hashCode(message);
        }

        @Override
        public String toString() {
            return "DeadLettered[" + queue + ", " + message.length + " bytes, " + reason + ", deliveryCount="
                    + deliveryCount + "]";
        }
    }

    /** Tell the consumer that the server cancelled it (basic.cancel), e.g. its queue was deleted. */
    record ConsumerCancelled(String queue, String consumerId, String node) implements Effect {}
}
