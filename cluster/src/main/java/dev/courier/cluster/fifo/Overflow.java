package dev.courier.cluster.fifo;

/** What a quorum queue does when a publish would take it past max-length / max-length-bytes. */
public enum Overflow {
    /** Accept the message, then drop (dead-letter with reason "maxlen") messages from the head. */
    DROP_HEAD,
    /** Refuse the message: the publisher gets a nack. */
    REJECT_PUBLISH,
    /** Refuse the message and dead-letter it with reason "maxlen". */
    REJECT_PUBLISH_DLX
}
