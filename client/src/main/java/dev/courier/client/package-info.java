/**
 * Messaging patterns as a small library on the official RabbitMQ Java client
 * ({@code com.rabbitmq:amqp-client}); it works against Courier or any AMQP 0-9-1 broker and knows
 * nothing about the broker's internals.
 *
 * <ul>
 *   <li>{@link dev.courier.client.ClaimCheck}: park a large payload in a {@link
 *       dev.courier.client.PayloadStore} and send only a reference; resolve it on the consumer side.
 *   <li>{@link dev.courier.client.ExactlyOnceConsumer}: run a handler and record the message id in the
 *       application's own JDBC transaction, ack after commit, skip ids already processed.
 *   <li>{@link dev.courier.client.RpcClient} / {@link dev.courier.client.RpcServer}: request/response
 *       over direct reply-to with correlation ids and timeouts.
 *   <li>{@link dev.courier.client.WorkerPool}: competing consumers with prefetch, ack after the
 *       handler returns, requeue or dead-letter on failure, graceful drain.
 *   <li>{@link dev.courier.client.ConfirmingPublisher}: a future per message, completed by the broker's
 *       confirm, with reconnection and retries under the same message id.
 * </ul>
 *
 * <p>Each class says which of its methods may be called from which thread. Handlers run on threads
 * the library or the amqp-client connection owns; they may block (they are not on an I/O thread),
 * but a handler that blocks holds back the deliveries queued behind it.
 */
package dev.courier.client;
