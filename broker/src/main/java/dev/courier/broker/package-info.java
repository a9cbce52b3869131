/**
 * The broker domain: virtual hosts, exchanges and their routing, bindings, queues and consumers.
 *
 * <p>Each {@link dev.courier.broker.MessageQueue} is a single-writer actor: callers post commands
 * from any thread and get answers as futures or callbacks on the queue's thread. Metadata changes
 * take the vhost lock; routing is lock-free. Nothing here knows about sockets or frames.
 */
package dev.courier.broker;
