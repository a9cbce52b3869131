/**
 * The broker domain: virtual hosts, exchanges and their routing, bindings, queues and consumers,
 * with RabbitMQ's rules and reply codes. Nothing here knows about sockets or frames; the server
 * module turns frames into calls on {@link dev.courier.broker.VirtualHost} and {@link
 * dev.courier.broker.MessageQueue}, and {@link dev.courier.broker.AmqpException}s into
 * channel or connection closes.
 *
 * <h2>Threads</h2>
 *
 * <ul>
 *   <li>{@link dev.courier.broker.VirtualHost}: callable from any thread. Metadata operations
 *       (declare, bind, delete) take the vhost's lock and never wait on a queue while holding it;
 *       answers that depend on a queue's state come back as futures. {@link
 *       dev.courier.broker.VirtualHost#route} is lock-free and allocation-free: it reads
 *       concurrent maps and immutable routing tables that binding changes replace.
 *   <li>{@link dev.courier.broker.MessageQueue}: a single-writer actor. Every operation posts a
 *       command to its mailbox, from any thread; the commands run one at a time on the broker's
 *       queue threads ({@code courier-queue-N}), a bounded batch per turn so a busy queue cannot
 *       starve the others. Futures and {@link dev.courier.broker.EnqueueListener}s complete on
 *       the queue's thread. No locks inside a queue.
 *   <li>{@link dev.courier.broker.Consumer}: implemented by the server; called on the queue's
 *       thread, must not block.
 * </ul>
 *
 * <h2>Message references</h2>
 *
 * A {@link dev.courier.broker.Message} is reference counted and shared, never copied, by every
 * queue it is routed to. Whoever enqueues passes one reference per queue ({@link
 * dev.courier.broker.VirtualHost#enqueue} retains them); a {@link dev.courier.broker.Delivery}
 * carries one reference that its receiver releases after writing it; the queue releases its own
 * when the message is acked, discarded, purged, expired or the queue is deleted or closed.
 */
package dev.courier.broker;
