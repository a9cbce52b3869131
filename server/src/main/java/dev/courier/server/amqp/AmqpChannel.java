package dev.courier.server.amqp;

import static dev.courier.protocol.AmqpConstants.ACCESS_REFUSED;
import static dev.courier.protocol.AmqpConstants.COMMAND_INVALID;
import static dev.courier.protocol.AmqpConstants.NOT_ALLOWED;
import static dev.courier.protocol.AmqpConstants.NOT_FOUND;
import static dev.courier.protocol.AmqpConstants.NOT_IMPLEMENTED;
import static dev.courier.protocol.AmqpConstants.PRECONDITION_FAILED;

import dev.courier.broker.AmqpException;
import dev.courier.broker.CommitUnit;
import dev.courier.broker.Delivery;
import dev.courier.broker.GetResult;
import dev.courier.broker.MessageQueue;
import dev.courier.broker.QueueDeclareOk;
import dev.courier.broker.VirtualHost;
import dev.courier.protocol.Amqp;
import dev.courier.protocol.AmqpConstants;
import dev.courier.protocol.FieldTables;
import dev.courier.protocol.Frame;
import dev.courier.protocol.Method;
import dev.courier.protocol.MethodFrame;
import dev.courier.protocol.ProtocolException;
import dev.courier.server.auth.Permission;
import dev.courier.server.auth.Permission.Access;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * One AMQP channel: its method dispatch, consumers, unacked deliveries and publisher confirms.
 *
 * <p>Everything here runs on the connection's event loop, except the methods documented as
 * called from queue actors ({@link #onDelivery}, {@link #onConsumerCancelledByQueue},
 * {@link #postConfirm}); those only append to the channel's inbox, which the event loop drains.
 *
 * <p>A method whose answer needs a queue actor (queue.declare's counts, basic.get, …) suspends
 * the channel: later frames wait in a backlog until the answer is written, so a client sees its
 * methods answered in the order it sent them, as with RabbitMQ's channel process.
 */
final class AmqpChannel {
    /** Most deliveries that may wait in the inbox before consumers are refused credit. */
    private static final int MAX_PENDING_DELIVERIES = 2048;

    private final AmqpConnection connection;
    private final int id;
    private final VirtualHost vhost;
    private final ContentAssembler content;
    private final UnackedWindow unacked = new UnackedWindow();
    private final Map<String, ChannelConsumer> consumers = new HashMap<>();
    private final ArrayDeque<Frame> backlog = new ArrayDeque<>();
    private final List<MessageQueue> routeTargets = new ArrayList<>();
    private final Queue<Object> inbox = new java.util.concurrent.ConcurrentLinkedQueue<>();
    private final AtomicBoolean drainScheduled = new AtomicBoolean();
    private final AtomicInteger pendingDeliveries = new AtomicInteger();
    private final AtomicInteger globalUnacked = new AtomicInteger();
    private final AckBatcher ackBatcher = new AckBatcher();
    private final Publisher publisher;

    private volatile boolean open = true;
    private volatile int globalPrefetch;
    private boolean closing;
    private boolean suspended;
    private int consumerPrefetch;
    private String lastQueueName;
    private PendingConfirms confirms;
    private Transaction tx;
    private DirectReplyTo.Registration replyTo;

    AmqpChannel(AmqpConnection connection, int id, VirtualHost vhost) {
        this.connection = connection;
        this.id = id;
        this.vhost = vhost;
        this.content = new ContentAssembler(
                connection.maxMessageSizeBytes(),
                connection.blobs(),
                connection.largeMessageThresholdBytes(),
                connection.blobWriteBacklog());
        this.publisher = new Publisher(this, connection, vhost);
    }

    /** A snapshot for the management API; event loop only. */
    ConnectionInfo.ChannelInfo describe() {
        List<ConnectionInfo.ConsumerInfo> consumerInfos = new ArrayList<>(consumers.size());
        for (ChannelConsumer consumer : consumers.values()) {
            consumerInfos.add(new ConnectionInfo.ConsumerInfo(
                    consumer.consumerTag(),
                    consumer.queue().name(),
                    !consumer.autoAck(),
                    consumer.prefetchCount(),
                    consumer.priority()));
        }
        return new ConnectionInfo.ChannelInfo(
                id,
                consumers.size(),
                consumerPrefetch,
                globalPrefetch,
                unacked.size(),
                confirms != null,
                consumerInfos);
    }

    int id() {
        return id;
    }

    AmqpConnection connection() {
        return connection;
    }

    PendingConfirms confirms() {
        return confirms;
    }

    DirectReplyTo.Registration replyTo() {
        return replyTo;
    }

    List<MessageQueue> routeTargets() {
        return routeTargets;
    }

    // ---------------------------------------------------------------- inbound frames (event loop)

    /** Handles one inbound frame for this channel; takes ownership of its buffers. */
    void onFrame(Frame frame) {
        if (suspended) {
            backlog.add(frame);
            return;
        }
        process(frame);
    }

    private void process(Frame frame) {
        if (closing) {
            // 0-9-1 §2.2.4: after sending channel.close, discard everything but close/close-ok
            if (frame instanceof MethodFrame mf
                    && (mf.method() instanceof Amqp.Channel.CloseOk || mf.method() instanceof Amqp.Channel.Close)) {
                if (mf.method() instanceof Amqp.Channel.Close) {
                    connection.writeMethod(id, new Amqp.Channel.CloseOk());
                }
                connection.removeChannel(id);
            }
            Frames.release(frame);
            return;
        }
        if (!(frame instanceof MethodFrame methodFrame)) {
            ContentAssembler.Result result;
            try {
                result = content.onContentFrame(frame);
            } catch (AmqpException e) {
                fail(e.replyCode(), e.getMessage(), Amqp.Basic.Publish.CLASS_ID, Amqp.Basic.Publish.METHOD_ID);
                return;
            }
            if (result != null) {
                if (result.largeBodyWritten() != null) {
                    awaitLargeBody(result);
                } else {
                    publishComplete(result);
                }
            }
            return;
        }
        Method method = methodFrame.method();
        if (content.inProgress()) {
            connection.connectionError(
                    AmqpConstants.UNEXPECTED_FRAME,
                    "expected content header for class 60, got non content header frame instead",
                    method.protocolClassId(),
                    method.protocolMethodId());
            return;
        }
        try {
            handle(method);
        } catch (AmqpException e) {
            fail(e.replyCode(), e.getMessage(), method.protocolClassId(), method.protocolMethodId());
        }
    }

    /**
     * A large publish whose body is still being written to its blob: later frames of the channel
     * wait (as behind any await) so that publishes keep their order.
     */
    private void awaitLargeBody(ContentAssembler.Result result) {
        suspended = true;
        result.largeBodyWritten()
                .whenComplete((blob, error) -> connection.execute(() -> {
                    if (error != null) {
                        result.properties().release();
                        if (!closing && open) {
                            Throwable cause = error instanceof CompletionException && error.getCause() != null
                                    ? error.getCause()
                                    : error;
                            AmqpException e = ContentAssembler.blobFailure(cause);
                            fail(
                                    e.replyCode(),
                                    e.getMessage(),
                                    Amqp.Basic.Publish.CLASS_ID,
                                    Amqp.Basic.Publish.METHOD_ID);
                        }
                    } else if (!closing && open) {
                        publishComplete(result.withLargeBody(blob));
                    } else {
                        result.properties().release();
                        blob.release();
                    }
                    resume();
                    flushConfirms(); // no read-complete follows this task to do it (an unroutable publish)
                    connection.flush();
                }));
    }

    private void publishComplete(ContentAssembler.Result result) {
        if (tx != null) {
            tx.publish(result.publish(), result.properties(), result.body(), result.largeBody()); // applied at commit
            return;
        }
        try {
            publisher.publish(result.publish(), result.properties(), result.body(), result.largeBody(), null, null);
        } catch (AmqpException e) {
            fail(e.replyCode(), e.getMessage(), Amqp.Basic.Publish.CLASS_ID, Amqp.Basic.Publish.METHOD_ID);
        } catch (ProtocolException e) {
            // properties are decoded lazily (headers routing, reply-to): malformed ones surface here
            connection.connectionError(
                    AmqpConstants.FRAME_ERROR,
                    "cannot decode content header properties: " + e.getMessage(),
                    Amqp.Basic.Publish.CLASS_ID,
                    Amqp.Basic.Publish.METHOD_ID);
        }
    }

    private void handle(Method method) {
        if (method instanceof Amqp.Basic.Publish publish) {
            if (publish.immediate()) {
                throw new AmqpException(NOT_IMPLEMENTED, "immediate=true");
            }
            content.begin(publish);
        } else if (method instanceof Amqp.Basic.Ack ack) {
            settleOrHold(ack.deliveryTag(), ack.multiple(), Settlement.ACK);
        } else if (method instanceof Amqp.Basic.Nack nack) {
            settleOrHold(nack.deliveryTag(), nack.multiple(), nack.requeue() ? Settlement.REQUEUE : Settlement.DISCARD);
        } else if (method instanceof Amqp.Basic.Reject reject) {
            settleOrHold(reject.deliveryTag(), false, reject.requeue() ? Settlement.REQUEUE : Settlement.DISCARD);
        } else if (method instanceof Amqp.Basic.Get get) {
            basicGet(get);
        } else if (method instanceof Amqp.Basic.Consume consume) {
            basicConsume(consume);
        } else if (method instanceof Amqp.Basic.Cancel cancel) {
            basicCancel(cancel);
        } else if (method instanceof Amqp.Basic.Qos qos) {
            basicQos(qos);
        } else if (method instanceof Amqp.Basic.Recover recover) {
            recover(recover.requeue());
            connection.writeMethod(id, new Amqp.Basic.RecoverOk());
        } else if (method instanceof Amqp.Basic.RecoverAsync recover) {
            recover(recover.requeue());
        } else if (method instanceof Amqp.Queue.Declare declare) {
            queueDeclare(declare);
        } else if (method instanceof Amqp.Queue.Bind bind) {
            check(Access.WRITE, "queue", queueName(bind.queue()));
            check(Access.READ, "exchange", bind.exchange());
            replyWhenDone(
                    vhost.bindQueue(
                            queueName(bind.queue()), bind.exchange(), bind.routingKey(), bind.arguments(), connection),
                    bind.nowait(),
                    new Amqp.Queue.BindOk());
        } else if (method instanceof Amqp.Queue.Unbind unbind) {
            check(Access.WRITE, "queue", queueName(unbind.queue()));
            check(Access.READ, "exchange", unbind.exchange());
            replyWhenDone(
                    vhost.unbindQueue(
                            queueName(unbind.queue()),
                            unbind.exchange(),
                            unbind.routingKey(),
                            unbind.arguments(),
                            connection),
                    false,
                    new Amqp.Queue.UnbindOk());
        } else if (method instanceof Amqp.Queue.Purge purge) {
            check(Access.READ, "queue", queueName(purge.queue()));
            await(vhost.purgeQueue(queueName(purge.queue()), connection), count -> {
                replyUnlessNoWait(purge.nowait(), new Amqp.Queue.PurgeOk(count));
            });
        } else if (method instanceof Amqp.Queue.Delete delete) {
            check(Access.CONFIGURE, "queue", queueName(delete.queue()));
            await(
                    vhost.deleteQueue(queueName(delete.queue()), delete.ifUnused(), delete.ifEmpty(), connection),
                    count -> replyUnlessNoWait(delete.nowait(), new Amqp.Queue.DeleteOk(count)));
        } else if (method instanceof Amqp.Exchange.Declare declare) {
            if (!declare.passive()) {
                check(Access.CONFIGURE, "exchange", declare.exchange());
            }
            replyWhenDone(
                    vhost.declareExchange(
                            declare.exchange(),
                            declare.type(),
                            declare.passive(),
                            declare.durable(),
                            declare.autoDelete(),
                            declare.internal(),
                            declare.arguments()),
                    declare.nowait(),
                    new Amqp.Exchange.DeclareOk());
        } else if (method instanceof Amqp.Exchange.Delete delete) {
            check(Access.CONFIGURE, "exchange", delete.exchange());
            replyWhenDone(
                    vhost.deleteExchange(delete.exchange(), delete.ifUnused()),
                    delete.nowait(),
                    new Amqp.Exchange.DeleteOk());
        } else if (method instanceof Amqp.Exchange.Bind bind) {
            check(Access.WRITE, "exchange", bind.destination());
            check(Access.READ, "exchange", bind.source());
            replyWhenDone(
                    vhost.bindExchange(bind.destination(), bind.source(), bind.routingKey(), bind.arguments()),
                    bind.nowait(),
                    new Amqp.Exchange.BindOk());
        } else if (method instanceof Amqp.Exchange.Unbind unbind) {
            check(Access.WRITE, "exchange", unbind.destination());
            check(Access.READ, "exchange", unbind.source());
            replyWhenDone(
                    vhost.unbindExchange(
                            unbind.destination(), unbind.source(), unbind.routingKey(), unbind.arguments()),
                    unbind.nowait(),
                    new Amqp.Exchange.UnbindOk());
        } else if (method instanceof Amqp.Confirm.Select select) {
            if (tx != null) {
                throw new AmqpException(PRECONDITION_FAILED, "cannot switch from tx to confirm mode");
            }
            if (confirms == null) {
                confirms = new PendingConfirms();
            }
            replyUnlessNoWait(select.nowait(), new Amqp.Confirm.SelectOk());
        } else if (method instanceof Amqp.Channel.Close) {
            release();
            connection.writeMethod(id, new Amqp.Channel.CloseOk());
            connection.removeChannel(id);
        } else if (method instanceof Amqp.Channel.CloseOk) {
            // not closing: nothing to confirm; RabbitMQ ignores a stray close-ok too
        } else if (method instanceof Amqp.Channel.Flow flow) {
            if (!flow.active()) {
                throw new AmqpException(NOT_IMPLEMENTED, "active=false");
            }
            connection.writeMethod(id, new Amqp.Channel.FlowOk(true));
        } else if (method instanceof Amqp.Channel.FlowOk) {
            // we never send channel.flow, so there is nothing to acknowledge
        } else if (method instanceof Amqp.Access.Request) {
            connection.writeMethod(id, new Amqp.Access.RequestOk(1));
        } else if (method instanceof Amqp.Tx.Select) {
            if (confirms != null) {
                throw new AmqpException(PRECONDITION_FAILED, "cannot switch from confirm to tx mode");
            }
            if (tx == null) {
                tx = new Transaction();
            }
            connection.writeMethod(id, new Amqp.Tx.SelectOk());
        } else if (method instanceof Amqp.Tx.Commit) {
            commit();
        } else if (method instanceof Amqp.Tx.Rollback) {
            requireTx();
            tx.discard();
            connection.writeMethod(id, new Amqp.Tx.RollbackOk());
        } else {
            throw new AmqpException(
                    COMMAND_INVALID, "method " + method.protocolName() + " is not valid on channel " + id);
        }
    }

    /**
     * RabbitMQ's access control: 403 ACCESS_REFUSED (closing the channel) unless the user's
     * permission in this vhost allows {@code access} on the resource.
     */
    void check(Access access, String kind, String name) {
        Permission permission = connection.permission();
        if (permission == null || !permission.allows(access, name)) {
            throw new AmqpException(
                    ACCESS_REFUSED, Permission.refusal(access, kind, name, vhost.name(), connection.user()));
        }
    }

    private void requireTx() {
        if (tx == null) {
            throw new AmqpException(PRECONDITION_FAILED, "channel is not transactional");
        }
    }

    /** In tx mode an acknowledgement waits for tx.commit; otherwise it applies now. */
    private void settleOrHold(long deliveryTag, boolean multiple, Settlement settlement) {
        if (tx == null) {
            settle(deliveryTag, multiple, settlement);
            return;
        }
        requireKnownTag(deliveryTag, multiple);
        tx.settle(deliveryTag, multiple, settlement);
    }

    /**
     * tx.commit: routes the transaction's publishes, then applies its acknowledgements, and
     * writes the persistent part of both as one store record ({@link CommitUnit}), so a crash
     * keeps all of it or none. Answers commit-ok once that record is durable and every queue has
     * taken every publish. Later methods on the channel wait for the answer. A publish that fails
     * to route (its exchange is gone) closes the channel and nothing of the transaction applies.
     */
    private void commit() {
        requireTx();
        CommitUnit unit = vhost.beginCommit();
        Transaction.Commit commit = new Transaction.Commit();
        List<Transaction.Publish> publishes = tx.takePublishes();
        for (int i = 0; i < publishes.size(); i++) {
            Transaction.Publish held = publishes.get(i);
            try {
                publisher.publish(held.method(), held.properties(), held.body(), held.largeBody(), commit, unit);
            } catch (RuntimeException e) {
                for (int j = i + 1; j < publishes.size(); j++) { // the channel closes: drop the rest
                    publishes.get(j).release();
                }
                unit.discard();
                tx.takeSettles();
                throw e;
            }
        }
        for (Transaction.Settle held : tx.takeSettles()) {
            if ((held.multiple() && held.deliveryTag() == 0) || unacked.contains(held.deliveryTag())) {
                settle(held.deliveryTag(), held.multiple(), held.settlement(), unit);
            } // else settled meanwhile by a multiple ack of the same transaction
        }
        CompletableFuture<Void> written = unit.submit();
        await(
                CompletableFuture.allOf(written, commit.seal()),
                ignored -> connection.writeMethod(id, new Amqp.Tx.CommitOk()));
    }

    /**
     * Answers a definition change: at once when the broker already made it (a single node), else
     * once the cluster's metadata group applied it here (the channel waits meanwhile, like for a
     * queue.declare).
     */
    private void replyWhenDone(CompletableFuture<Void> done, boolean nowait, Method reply) {
        if (done.isDone() && !done.isCompletedExceptionally()) {
            replyUnlessNoWait(nowait, reply);
        } else {
            await(done, ignored -> replyUnlessNoWait(nowait, reply));
        }
    }

    private void replyUnlessNoWait(boolean nowait, Method reply) {
        if (!nowait) {
            connection.writeMethod(id, reply);
        }
    }

    private String queueName(String name) {
        if (!name.isEmpty()) {
            return name;
        }
        if (lastQueueName == null) {
            throw new AmqpException(NOT_FOUND, "no previously declared queue");
        }
        return lastQueueName;
    }

    // ---------------------------------------------------------------- queue methods

    private void queueDeclare(Amqp.Queue.Declare declare) {
        String name = declare.queue();
        if (name.isEmpty() && declare.passive()) {
            name = queueName(name);
        }
        if (!declare.passive()) {
            // a server-named queue is checked as its name's fixed prefix, "amq.gen-"
            check(Access.CONFIGURE, "queue", name.isEmpty() ? "amq.gen-" : name);
        }
        await(
                vhost.declareQueue(
                        name,
                        declare.passive(),
                        declare.durable(),
                        declare.exclusive(),
                        declare.autoDelete(),
                        declare.arguments(),
                        connection),
                (QueueDeclareOk ok) -> {
                    lastQueueName = ok.queue();
                    replyUnlessNoWait(
                            declare.nowait(),
                            new Amqp.Queue.DeclareOk(ok.queue(), ok.messageCount(), ok.consumerCount()));
                });
    }

    /**
     * Suspends the channel until {@code future} completes, then runs {@code onSuccess} on the event
     * loop (or closes the channel with the broker's error) and resumes with the backlog.
     */
    private <T> void await(CompletableFuture<T> future, Consumer<T> onSuccess) {
        suspended = true;
        future.whenComplete((value, error) -> connection.execute(() -> {
            if (!closing && open) {
                if (error == null) {
                    try {
                        onSuccess.accept(value);
                    } catch (AmqpException e) {
                        fail(e.replyCode(), e.getMessage(), 0, 0);
                    }
                } else {
                    Throwable cause =
                            error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
                    if (cause instanceof AmqpException e) {
                        fail(e.replyCode(), e.getMessage(), 0, 0);
                    } else {
                        connection.internalError("channel " + id, cause);
                    }
                }
            } else if (value instanceof GetResult result && result.delivery() != null) {
                requeueLate(result.delivery());
                result.delivery().message().release();
            }
            resume();
            connection.flush();
        }));
    }

    private void resume() {
        suspended = false;
        while (!suspended && !backlog.isEmpty()) {
            process(backlog.poll());
        }
    }

    // ---------------------------------------------------------------- basic methods

    private void basicQos(Amqp.Basic.Qos qos) {
        if (qos.prefetchSize() != 0) {
            throw new AmqpException(NOT_IMPLEMENTED, "prefetch_size!=0 (" + qos.prefetchSize() + ")");
        }
        if (qos.global()) {
            globalPrefetch = qos.prefetchCount();
            wakeConsumers();
        } else {
            consumerPrefetch = qos.prefetchCount();
        }
        connection.writeMethod(id, new Amqp.Basic.QosOk());
    }

    private void basicConsume(Amqp.Basic.Consume consume) {
        String tag = consume.consumerTag().isEmpty() ? Names.consumerTag() : consume.consumerTag();
        if (consumers.containsKey(tag) || (replyTo != null && tag.equals(replyTo.consumerTag()))) {
            throw new AmqpException(NOT_ALLOWED, "attempt to reuse consumer tag '" + tag + "'");
        }
        if (DirectReplyTo.QUEUE.equals(consume.queue())) {
            if (!consume.noAck()) {
                throw new AmqpException(PRECONDITION_FAILED, "reply consumer cannot acknowledge");
            }
            if (replyTo != null) {
                throw new AmqpException(PRECONDITION_FAILED, "reply consumer already set");
            }
            replyTo = connection.directReplyTo().register(this, tag);
            replyUnlessNoWait(consume.nowait(), new Amqp.Basic.ConsumeOk(tag));
            return;
        }
        check(Access.READ, "queue", queueName(consume.queue()));
        int maxConsumers = connection.consumerMaxPerChannel();
        if (maxConsumers > 0 && consumers.size() >= maxConsumers) {
            throw new AmqpException(NOT_ALLOWED, "reached maximum (" + maxConsumers + ") of consumers per channel");
        }
        MessageQueue queue = vhost.queue(queueName(consume.queue()), connection);
        int priority = consumerPriority(consume.arguments());
        ChannelConsumer consumer = new ChannelConsumer(this, queue, tag, consume.noAck(), priority, consumerPrefetch);
        consumers.put(tag, consumer);
        suspended = true;
        queue.addConsumer(consumer, consume.exclusive())
                .whenComplete((ignored, error) -> connection.execute(() -> {
                    if (error != null) {
                        consumers.remove(tag);
                        Throwable cause = error instanceof CompletionException ? error.getCause() : error;
                        if (open && !closing) {
                            if (cause instanceof AmqpException e) {
                                fail(
                                        e.replyCode(),
                                        e.getMessage(),
                                        consume.protocolClassId(),
                                        consume.protocolMethodId());
                            } else {
                                connection.internalError("channel " + id, cause);
                            }
                        }
                    } else if (open && !closing) {
                        replyUnlessNoWait(consume.nowait(), new Amqp.Basic.ConsumeOk(tag));
                        consumer.start();
                    } else {
                        queue.removeConsumer(consumer);
                    }
                    resume();
                    connection.flush();
                }));
    }

    private static int consumerPriority(Map<String, Object> arguments) {
        if (arguments == null || !arguments.containsKey("x-priority")) {
            return 0;
        }
        Long priority = FieldTables.getLong(arguments, "x-priority");
        if (priority == null) {
            throw new AmqpException(
                    PRECONDITION_FAILED,
                    "invalid arg 'x-priority' for consumer: expected an integer, got " + arguments.get("x-priority"));
        }
        return (int) Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, priority));
    }

    private void basicCancel(Amqp.Basic.Cancel cancel) {
        String tag = cancel.consumerTag();
        if (replyTo != null && tag.equals(replyTo.consumerTag())) {
            replyTo.unregister();
            replyTo = null;
            replyUnlessNoWait(cancel.nowait(), new Amqp.Basic.CancelOk(tag));
            return;
        }
        ChannelConsumer consumer = consumers.get(tag);
        if (consumer == null) {
            // RabbitMQ answers cancel-ok for an unknown tag
            replyUnlessNoWait(cancel.nowait(), new Amqp.Basic.CancelOk(tag));
            return;
        }
        consumer.cancel();
        // cancel-ok only once the queue has let go: deliveries already under way arrive first
        await(consumer.queue().removeConsumer(consumer), ignored -> {
            consumers.remove(tag);
            replyUnlessNoWait(cancel.nowait(), new Amqp.Basic.CancelOk(tag));
        });
    }

    private void basicGet(Amqp.Basic.Get get) {
        check(Access.READ, "queue", queueName(get.queue()));
        MessageQueue queue = vhost.queue(queueName(get.queue()), connection);
        await(queue.get(get.noAck()), (GetResult result) -> {
            Delivery delivery = result.delivery();
            if (delivery == null) {
                connection.writeMethod(id, new Amqp.Basic.GetEmpty(""));
                return;
            }
            try {
                long tag = get.noAck()
                        ? unacked.skip()
                        : unacked.add(new UnackedWindow.Entry(queue, delivery.entryId(), null, delivery.storeId()));
                var message = delivery.message();
                connection.writeContent(
                        id,
                        new Amqp.Basic.GetOk(
                                tag,
                                delivery.redelivered(),
                                message.exchange(),
                                message.routingKey(),
                                result.messageCount()),
                        message);
            } finally {
                delivery.message().release();
            }
        });
    }

    enum Settlement {
        ACK,
        REQUEUE,
        DISCARD
    }

    /** 406 for a delivery tag that is not outstanding (tag 0 with multiple means "all": always fine). */
    private void requireKnownTag(long deliveryTag, boolean multiple) {
        if (!(multiple && deliveryTag == 0) && !unacked.contains(deliveryTag)) {
            throw new AmqpException(PRECONDITION_FAILED, "unknown delivery tag " + deliveryTag);
        }
    }

    private void settle(long deliveryTag, boolean multiple, Settlement settlement) {
        settle(deliveryTag, multiple, settlement, null);
    }

    /**
     * @param unit a transaction's commit unit (nullable): acknowledged messages that are in the
     *     store are removed by its record, and their queues are told so
     */
    private void settle(long deliveryTag, boolean multiple, Settlement settlement, CommitUnit unit) {
        // 0-9-1 §1.8.3.13: delivery tag 0 with multiple = all outstanding deliveries
        requireKnownTag(deliveryTag, multiple);
        ackBatcher.unit = settlement == Settlement.ACK ? unit : null;
        if (multiple && deliveryTag == 0) {
            unacked.removeAll(entry -> ackBatcher.add(entry, settlement));
        } else if (multiple) {
            unacked.removeUpTo(deliveryTag, entry -> ackBatcher.add(entry, settlement));
        } else {
            ackBatcher.add(unacked.remove(deliveryTag), settlement);
        }
        ackBatcher.flush(settlement);
        ackBatcher.unit = null;
        wakeConsumers();
    }

    private void recover(boolean requeue) {
        if (!requeue) {
            throw new AmqpException(NOT_IMPLEMENTED, "requeue=false");
        }
        unacked.removeAll(entry -> ackBatcher.add(entry, Settlement.REQUEUE));
        ackBatcher.flush(Settlement.REQUEUE);
        wakeConsumers();
    }

    /** Groups settlements by queue so one ack frame becomes one mailbox post per queue. */
    private final class AckBatcher {
        private MessageQueue queue;
        private long[] ids = new long[16];
        private int count;
        private Settlement pending;
        /** While settling a transaction's acks: the unit that removes them from the store. */
        CommitUnit unit;

        void add(UnackedWindow.Entry entry, Settlement settlement) {
            if (entry.consumer() != null) {
                entry.consumer().releaseCredit();
            }
            if (unit != null) {
                unit.remove(entry.queue(), entry.storeId());
            }
            if (queue != entry.queue() && count > 0) {
                flush(pending);
            }
            queue = entry.queue();
            pending = settlement;
            if (count == ids.length) {
                ids = java.util.Arrays.copyOf(ids, count * 2);
            }
            ids[count++] = entry.entryId();
        }

        void flush(Settlement settlement) {
            if (count == 0) {
                return;
            }
            long[] batch = java.util.Arrays.copyOf(ids, count);
            switch (settlement) {
                case ACK -> {
                    if (unit != null) {
                        queue.ackCommitted(batch, count);
                    } else {
                        queue.ack(batch, count);
                    }
                }
                case REQUEUE -> queue.requeue(batch, count);
                case DISCARD -> queue.discard(batch, count);
            }
            count = 0;
            queue = null;
        }
    }

    // ---------------------------------------------------------------- credit (any thread)

    /** True while deliveries may be handed to this channel (open, socket writable, inbox not full). */
    boolean canDeliver() {
        return open && connection.isWritable() && pendingDeliveries.get() < MAX_PENDING_DELIVERIES;
    }

    boolean tryReserveGlobalCredit() {
        int limit = globalPrefetch;
        if (globalUnacked.incrementAndGet() > limit && limit != 0) {
            globalUnacked.decrementAndGet();
            return false;
        }
        return true;
    }

    void releaseGlobalCredit() {
        globalUnacked.decrementAndGet();
    }

    /** Wakes every consumer a queue gave up on; called on the event loop when credit may be back. */
    void wakeConsumers() {
        if (!consumers.isEmpty() && canDeliver()) {
            for (ChannelConsumer consumer : consumers.values()) {
                consumer.wake();
            }
        }
    }

    // ---------------------------------------------------------------- inbox (queue actors → event loop)

    private record PendingDelivery(ChannelConsumer consumer, Delivery delivery) {}

    private record ConsumerCancelled(ChannelConsumer consumer) {}

    private record Confirm(long seqNo, boolean accepted) {}

    /** Called on a queue actor thread. */
    void onDelivery(ChannelConsumer consumer, Delivery delivery) {
        pendingDeliveries.incrementAndGet();
        post(new PendingDelivery(consumer, delivery));
    }

    /** Called on a queue actor thread when the queue was deleted under the consumer. */
    void onConsumerCancelledByQueue(ChannelConsumer consumer) {
        post(new ConsumerCancelled(consumer));
    }

    /** Called on a queue actor thread once every queue a confirmed publish went to has answered. */
    void postConfirm(long seqNo, boolean accepted) {
        post(new Confirm(seqNo, accepted));
    }

    /** Called from any thread: a direct reply-to reply for this channel's reply consumer. */
    void postDirectReply(dev.courier.broker.Message message) {
        post(message);
    }

    private void post(Object event) {
        inbox.add(event);
        if (drainScheduled.compareAndSet(false, true)) {
            connection.execute(this::drainInbox);
        }
    }

    private void drainInbox() {
        drainScheduled.set(false);
        Object event;
        while ((event = inbox.poll()) != null) {
            if (event instanceof PendingDelivery pending) {
                pendingDeliveries.decrementAndGet();
                writeDelivery(pending.consumer(), pending.delivery());
            } else if (event instanceof Confirm confirm) {
                if (confirms != null) {
                    if (confirm.accepted()) {
                        confirms.settle(confirm.seqNo());
                    } else {
                        confirms.reject(confirm.seqNo());
                    }
                }
            } else if (event instanceof ConsumerCancelled cancelled) {
                cancelledByQueue(cancelled.consumer());
            } else if (event instanceof dev.courier.broker.Message reply) {
                writeDirectReply(reply);
            }
        }
        flushConfirms();
        connection.flush();
        wakeConsumers();
    }

    private void writeDelivery(ChannelConsumer consumer, Delivery delivery) {
        var message = delivery.message();
        try {
            if (!open || closing) {
                if (!consumer.autoAck()) {
                    requeueLate(delivery);
                }
                return;
            }
            long tag = consumer.autoAck()
                    ? unacked.skip()
                    : unacked.add(new UnackedWindow.Entry(
                            delivery.queue(), delivery.entryId(), consumer, delivery.storeId()));
            connection.writeContent(
                    id,
                    new Amqp.Basic.Deliver(
                            consumer.consumerTag(),
                            tag,
                            delivery.redelivered(),
                            message.exchange(),
                            message.routingKey()),
                    message);
        } finally {
            message.release();
        }
    }

    private void writeDirectReply(dev.courier.broker.Message message) {
        try {
            if (open && !closing && replyTo != null) {
                connection.writeContent(
                        id,
                        new Amqp.Basic.Deliver(
                                replyTo.consumerTag(), unacked.skip(), false, message.exchange(), message.routingKey()),
                        message);
            }
        } finally {
            message.release();
        }
    }

    /**
     * Gives back a delivery that reached a channel no longer open; the caller still releases
     * the delivery's reference to the message (the queue keeps its own).
     */
    private void requeueLate(Delivery delivery) {
        delivery.queue().requeue(new long[] {delivery.entryId()}, 1);
    }

    private void cancelledByQueue(ChannelConsumer consumer) {
        if (consumers.remove(consumer.consumerTag(), consumer)) {
            consumer.cancel();
            if (open && !closing && connection.consumerCancelNotify()) {
                connection.writeMethod(id, new Amqp.Basic.Cancel(consumer.consumerTag(), true));
            }
        }
    }

    /** Writes the confirms that became due; called at the end of every batch of work. */
    void flushConfirms() {
        if (confirms != null && confirms.hasWork() && open && !closing) {
            confirms.drain(connection.confirmSink(id));
        }
    }

    // ---------------------------------------------------------------- closing

    /** Closes the channel because of a soft error, or the connection for a hard one. */
    void fail(int replyCode, String text, int classId, int methodId) {
        if (AmqpConstants.isHardError(replyCode)) {
            connection.connectionError(replyCode, text, classId, methodId);
            return;
        }
        if (closing) {
            return;
        }
        connection.writeMethod(
                id, new Amqp.Channel.Close(replyCode, AmqpConstants.closeText(replyCode, text), classId, methodId));
        release();
        closing = true;
    }

    /**
     * Gives everything this channel holds back to the broker: consumers are removed and unacked
     * deliveries requeued (redelivered, at their original position). Idempotent; event loop only.
     */
    void release() {
        if (!open) {
            return;
        }
        open = false;
        for (ChannelConsumer consumer : consumers.values()) {
            consumer.cancel(); // takes no more deliveries from here on
        }
        // requeue before detaching, so each queue has the messages back at their original
        // positions by the time its next consumer (a single active one, say) takes over
        unacked.removeAll(entry -> ackBatcher.add(entry, Settlement.REQUEUE));
        ackBatcher.flush(Settlement.REQUEUE);
        for (ChannelConsumer consumer : consumers.values()) {
            consumer.queue().removeConsumer(consumer);
        }
        consumers.clear();
        if (replyTo != null) {
            replyTo.unregister();
            replyTo = null;
        }
        content.release();
        if (tx != null) {
            tx.discard();
        }
        Frame frame;
        while ((frame = backlog.poll()) != null) {
            Frames.release(frame);
        }
        // deliveries still in the inbox are requeued when it drains (open is now false)
        connection.execute(this::drainInbox);
    }
}
