package dev.courier.broker;

/** The answer to queue.declare: the queue's name and its counts, in queue order. */
public record QueueDeclareOk(String queue, int messageCount, int consumerCount) {}
