package dev.courier.broker;

/** Receives the destinations (queues or exchanges) an exchange's routing table matched. */
@FunctionalInterface
interface RouteSink {
    void add(Object destination);
}
