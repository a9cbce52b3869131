package dev.courier.broker;

/** Told, on the queue's actor thread, whether a queue took a published message. */
@FunctionalInterface
public interface EnqueueListener {
    /** {@code accepted} is false when the queue refused it (deleted, or full with reject-publish). */
    void onEnqueued(boolean accepted);
}
