package dev.courier.broker;

/** The answer to basic.get: a delivery, or null for get-empty, and the ready count left. */
public record GetResult(Delivery delivery, int messageCount) {}
