package dev.courier.broker;

/**
 * One message handed to a consumer or to basic.get.
 *
 * @param queue the queue it came from, to settle it with
 * @param entryId its position in that queue; settle with this id
 * @param message the message, with one reference owned by the receiver
 * @param redelivered whether it was delivered before
 * @param messageCountAfter ready messages left in the queue after this one (basic.get), else -1
 */
public record Delivery(
        MessageQueue queue, long entryId, Message message, boolean redelivered, long messageCountAfter) {}
