package dev.courier.broker;

/**
 * One message handed to a consumer or to basic.get.
 *
 * @param queue the queue it came from, to settle it with
 * @param entryId its position in that queue; settle with this id
 * @param message the message, with one reference owned by the receiver
 * @param redelivered whether it was delivered before
 * @param messageCountAfter ready messages left in the queue after this one (basic.get), else -1
 * @param storeId the message's id in the node's store while it waits for an ack on a durable
 *     queue of {@link MessageQueue#storeQueue()}, else 0: a transaction that acks it removes it
 *     with that id
 */
public record Delivery(
        MessageQueue queue, long entryId, Message message, boolean redelivered, long messageCountAfter, long storeId) {
    /** A delivery of a message that is not in the node's store. */
    public Delivery(MessageQueue queue, long entryId, Message message, boolean redelivered, long messageCountAfter) {
        this(queue, entryId, message, redelivered, messageCountAfter, 0);
    }
}
