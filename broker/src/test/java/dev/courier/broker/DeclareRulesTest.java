package dev.courier.broker;

import static dev.courier.protocol.AmqpConstants.ACCESS_REFUSED;
import static dev.courier.protocol.AmqpConstants.COMMAND_INVALID;
import static dev.courier.protocol.AmqpConstants.NOT_FOUND;
import static dev.courier.protocol.AmqpConstants.PRECONDITION_FAILED;
import static dev.courier.protocol.AmqpConstants.RESOURCE_LOCKED;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import org.assertj.core.api.AbstractThrowableAssert;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Declare, delete and bind as RabbitMQ answers them: reply codes and texts. */
class DeclareRulesTest {
    private final Broker broker = new Broker(new BrokerConfig(1));
    private final VirtualHost vhost = broker.vhost("/");
    private final Object connection = "connection-1";
    private final Object otherConnection = "connection-2";

    @AfterEach
    void close() {
        broker.close();
    }

    /** Asserts a refusal, thrown at once or through a future, with this code and text. */
    private static AbstractThrowableAssert<?, ? extends Throwable> refused(
            ThrowingCallable call, int replyCode, String text) {
        return assertThatThrownBy(() -> {
                    try {
                        call.call();
                    } catch (ExecutionException | CompletionException e) {
                        throw e.getCause();
                    }
                })
                .isInstanceOf(AmqpException.class)
                .hasMessage(text)
                .satisfies(e -> assertThat(((AmqpException) e).replyCode()).isEqualTo(replyCode));
    }

    private QueueDeclareOk declareQueue(String name, Map<String, Object> arguments) throws Exception {
        return vhost.declareQueue(name, false, false, false, false, arguments, connection)
                .get();
    }

    private void exchange(String name, String type, boolean durable, boolean autoDelete, boolean internal) {
        vhost.declareExchange(name, type, false, durable, autoDelete, internal, Map.of());
    }

    private static List<String> names(java.util.Collection<? extends Object> things) {
        List<String> names = new ArrayList<>();
        for (Object thing : things) {
            names.add(thing instanceof Exchange x ? x.name() : ((MessageQueue) thing).name());
        }
        return names;
    }

    // ---------------------------------------------------------------- exchanges

    @Test
    void shouldRefuseAnUnknownExchangeTypeWith503() {
        refused(
                () -> vhost.declareExchange("x", "foo", false, false, false, false, Map.of()),
                COMMAND_INVALID,
                "invalid exchange type 'foo'");
    }

    @Test
    void shouldRefuseTheDefaultExchangeWith403() throws Exception {
        String text = "operation not permitted on the default exchange";
        refused(() -> exchange("", "direct", true, false, false), ACCESS_REFUSED, text);
        refused(() -> vhost.declareExchange("", "direct", true, false, false, false, Map.of()), ACCESS_REFUSED, text);
        refused(() -> vhost.deleteExchange("", false), ACCESS_REFUSED, text);
        declareQueue("q", Map.of());
        refused(() -> vhost.bindQueue("q", "", "q", Map.of(), connection), ACCESS_REFUSED, text);
        refused(() -> vhost.unbindQueue("q", "", "q", Map.of(), connection), ACCESS_REFUSED, text);
        refused(() -> vhost.bindExchange("amq.direct", "", "k", Map.of()), ACCESS_REFUSED, text);
        refused(() -> vhost.bindExchange("", "amq.direct", "k", Map.of()), ACCESS_REFUSED, text);
    }

    @Test
    void shouldReserveTheAmqPrefixForNewExchangesButAcceptEquivalentBuiltInRedeclares() {
        refused(
                () -> exchange("amq.custom", "direct", false, false, false),
                ACCESS_REFUSED,
                "exchange name 'amq.custom' contains reserved prefix 'amq.*'");
        assertThatCode(() -> {
                    exchange("amq.direct", "direct", true, false, false);
                    exchange("amq.topic", "topic", true, false, false);
                    exchange("amq.match", "headers", true, false, false);
                    vhost.declareExchange("amq.fanout", "fanout", true, false, false, false, Map.of());
                })
                .doesNotThrowAnyException();
        refused(
                () -> exchange("amq.direct", "direct", false, false, false),
                PRECONDITION_FAILED,
                "inequivalent arg 'durable' for exchange 'amq.direct' in vhost '/': received 'false' but current is 'true'");
        refused(
                () -> vhost.deleteExchange("amq.direct", false),
                ACCESS_REFUSED,
                "deletion of system exchange 'amq.direct' in vhost '/' not allowed");
    }

    @Test
    void shouldRefuseInequivalentExchangeRedeclaresWith406() {
        exchange("x", "direct", false, false, false);
        exchange("x", "direct", false, false, false);
        refused(
                () -> exchange("x", "fanout", false, false, false),
                PRECONDITION_FAILED,
                "inequivalent arg 'type' for exchange 'x' in vhost '/': received 'fanout' but current is 'direct'");
        refused(
                () -> exchange("x", "direct", true, false, false),
                PRECONDITION_FAILED,
                "inequivalent arg 'durable' for exchange 'x' in vhost '/': received 'true' but current is 'false'");
        refused(
                () -> exchange("x", "direct", false, true, false),
                PRECONDITION_FAILED,
                "inequivalent arg 'auto_delete' for exchange 'x' in vhost '/': received 'true' but current is 'false'");
        refused(
                () -> exchange("x", "direct", false, false, true),
                PRECONDITION_FAILED,
                "inequivalent arg 'internal' for exchange 'x' in vhost '/': received 'true' but current is 'false'");
        refused(
                () -> vhost.declareExchange(
                        "x", "direct", false, false, false, false, Map.of("alternate-exchange", "ae")),
                PRECONDITION_FAILED,
                "inequivalent arg 'alternate-exchange' for exchange 'x' in vhost '/': received the value 'ae' of type"
                        + " 'longstr' but current is none");
        // other arguments are not compared, as in RabbitMQ
        assertThatCode(() -> vhost.declareExchange("x", "direct", false, false, false, false, Map.of("x-other", 1)))
                .doesNotThrowAnyException();
    }

    @Test
    void shouldRefuseAnAlternateExchangeArgumentThatIsNotAString() {
        refused(
                () -> vhost.declareExchange("x", "direct", false, false, false, false, Map.of("alternate-exchange", 7)),
                PRECONDITION_FAILED,
                "invalid type 'signedint' for arg 'alternate-exchange' in exchange 'x' in vhost '/'");
    }

    @Test
    void shouldAnswerPassiveExchangeDeclaresWith404WhenMissing() {
        refused(
                () -> vhost.declareExchange("nope", "", true, false, false, false, Map.of()),
                NOT_FOUND,
                "no exchange 'nope' in vhost '/'");
        assertThatCode(() -> vhost.declareExchange("amq.topic", "", true, false, false, false, Map.of()))
                .doesNotThrowAnyException();
    }

    @Test
    void shouldDeleteExchangesWithIfUnusedAndAcceptMissingOnes() throws Exception {
        assertThatCode(() -> vhost.deleteExchange("never-declared", false)).doesNotThrowAnyException();
        exchange("x", "fanout", false, false, false);
        declareQueue("q", Map.of());
        vhost.bindQueue("q", "x", "", Map.of(), connection);
        refused(() -> vhost.deleteExchange("x", true), PRECONDITION_FAILED, "exchange 'x' in vhost '/' in use");
        vhost.deleteExchange("x", false);
        assertThat(vhost.exchange("x")).isNull();
        assertThat(vhost.bindings()).isEmpty();
    }

    @Test
    void shouldDeleteAnAutoDeleteExchangeWhenItsLastBindingGoesButNotBefore() throws Exception {
        exchange("auto", "direct", false, true, false);
        exchange("target", "fanout", false, false, false);
        declareQueue("q1", Map.of());
        declareQueue("q2", Map.of());
        assertThat(vhost.exchange("auto")).as("never bound: stays").isNotNull();
        vhost.bindQueue("q1", "auto", "a", Map.of(), connection);
        vhost.bindQueue("q2", "auto", "b", Map.of(), connection);
        vhost.bindExchange("target", "auto", "c", Map.of());
        vhost.unbindQueue("q1", "auto", "a", Map.of(), connection);
        vhost.unbindExchange("target", "auto", "c", Map.of());
        assertThat(vhost.exchange("auto")).isNotNull();
        vhost.deleteQueue("q2", false, false, connection).get(); // its binding goes with it
        await().until(() -> vhost.exchange("auto") == null);
    }

    // ---------------------------------------------------------------- queues

    @Test
    void shouldNameServerNamedQueuesLikeRabbitMq() throws Exception {
        QueueDeclareOk first = declareQueue("", Map.of());
        QueueDeclareOk second = declareQueue("", Map.of());
        assertThat(first.queue()).matches("amq\\.gen-[A-Za-z0-9_-]{22}");
        assertThat(second.queue()).isNotEqualTo(first.queue());
        assertThat(vhost.queue(first.queue(), connection).name()).isEqualTo(first.queue());
        // redeclaring it by name is a new declare of a reserved name
        refused(
                () -> declareQueue(first.queue(), Map.of()),
                ACCESS_REFUSED,
                "queue name '" + first.queue() + "' contains reserved prefix 'amq.*'");
        assertThat(vhost.declareQueue(first.queue(), true, false, false, false, Map.of(), connection)
                        .get()
                        .queue())
                .isEqualTo(first.queue());
    }

    @Test
    void shouldRefuseReservedQueueNamesWith403() {
        refused(
                () -> declareQueue("amq.mine", Map.of()),
                ACCESS_REFUSED,
                "queue name 'amq.mine' contains reserved prefix 'amq.*'");
    }

    @Test
    void shouldAnswerPassiveQueueDeclaresWithCountsOr404() throws Exception {
        refused(
                () -> vhost.declareQueue("missing", true, false, false, false, Map.of(), connection),
                NOT_FOUND,
                "no queue 'missing' in vhost '/'");
        declareQueue("q", Map.of());
        QueueDeclareOk ok = vhost.declareQueue("q", true, true, true, true, Map.of("x-max-length", 1), connection)
                .get();
        assertThat(ok).isEqualTo(new QueueDeclareOk("q", 0, 0));
    }

    @Test
    void shouldRefuseInequivalentQueueRedeclaresWith406() throws Exception {
        declareQueue("q", Map.of("x-max-length", 10, "x-custom", "ignored"));
        refused(
                () -> vhost.declareQueue("q", false, true, false, false, Map.of("x-max-length", 10), connection),
                PRECONDITION_FAILED,
                "inequivalent arg 'durable' for queue 'q' in vhost '/': received 'true' but current is 'false'");
        refused(
                () -> vhost.declareQueue("q", false, false, false, true, Map.of("x-max-length", 10), connection),
                PRECONDITION_FAILED,
                "inequivalent arg 'auto_delete' for queue 'q' in vhost '/': received 'true' but current is 'false'");
        refused(
                () -> declareQueue("q", Map.of("x-max-length", 20)),
                PRECONDITION_FAILED,
                "inequivalent arg 'x-max-length' for queue 'q' in vhost '/': received '20' but current is '10'");
        refused(
                () -> declareQueue("q", Map.of("x-max-length", "10")),
                PRECONDITION_FAILED,
                "inequivalent arg 'x-max-length' for queue 'q' in vhost '/': received '10' but current is '10'");
        refused(
                () -> declareQueue("q", Map.of()),
                PRECONDITION_FAILED,
                "inequivalent arg 'x-max-length' for queue 'q' in vhost '/': received none but current is the value"
                        + " '10' of type 'signedint'");
        // integer widths are one type class; unknown arguments and x-queue-type=classic are not compared
        assertThat(declareQueue("q", Map.of("x-max-length", 10L, "x-queue-type", "classic"))
                        .queue())
                .isEqualTo("q");
    }

    @Test
    void shouldLockExclusiveQueuesToTheirConnection() throws Exception {
        vhost.declareQueue("mine", false, false, true, false, Map.of(), connection)
                .get();
        String locked = "cannot obtain exclusive access to locked queue 'mine' in vhost '/'. It could be originally"
                + " declared on another connection or the exclusive property value does not match that of the"
                + " original declaration.";
        refused(
                () -> vhost.declareQueue("mine", false, false, true, false, Map.of(), otherConnection),
                RESOURCE_LOCKED,
                locked);
        refused(
                () -> vhost.declareQueue("mine", true, false, false, false, Map.of(), otherConnection),
                RESOURCE_LOCKED,
                locked);
        refused(() -> vhost.queue("mine", otherConnection), RESOURCE_LOCKED, locked);
        refused(() -> vhost.purgeQueue("mine", otherConnection), RESOURCE_LOCKED, locked);
        refused(() -> vhost.deleteQueue("mine", false, false, otherConnection), RESOURCE_LOCKED, locked);
        refused(() -> vhost.bindQueue("mine", "amq.direct", "k", Map.of(), otherConnection), RESOURCE_LOCKED, locked);
        // the owner itself must redeclare it exclusive (RabbitMQ compares strictly on declare)
        refused(() -> declareQueue("mine", Map.of()), RESOURCE_LOCKED, locked);
        assertThat(vhost.declareQueue("mine", false, true, true, false, Map.of(), connection)
                        .get()
                        .queue())
                .as("exclusive queues are never durable, so the durable flag is not compared")
                .isEqualTo("mine");
        assertThat(vhost.queue("mine", connection).durable()).isFalse();
        vhost.bindQueue("mine", "amq.direct", "k", Map.of(), connection);

        declareQueue("shared", Map.of());
        refused(
                () -> vhost.declareQueue("shared", false, false, true, false, Map.of(), connection),
                RESOURCE_LOCKED,
                locked.replace("'mine'", "'shared'"));
    }

    @Test
    void shouldDeleteExclusiveQueuesWhenTheirConnectionCloses() throws Exception {
        vhost.declareQueue("mine", false, false, true, false, Map.of(), connection)
                .get();
        vhost.declareQueue("theirs", false, false, true, false, Map.of(), otherConnection)
                .get();
        declareQueue("shared", Map.of());
        vhost.onConnectionClosed(connection);
        await().until(() -> vhost.queues().size() == 2);
        assertThat(names(vhost.queues())).containsExactlyInAnyOrder("theirs", "shared");
    }

    @Test
    void shouldDeleteAnAutoDeleteQueueWhenItsLastConsumerGoesButNotBefore() throws Exception {
        vhost.declareQueue("auto", false, false, false, true, Map.of(), connection)
                .get();
        MessageQueue queue = vhost.queue("auto", connection);
        assertThat(vhost.declareQueue("auto", true, false, false, false, Map.of(), connection)
                        .get())
                .as("no consumer yet: it stays")
                .isNotNull();
        TestConsumer first = TestConsumer.autoAck("c1");
        TestConsumer second = TestConsumer.autoAck("c2");
        queue.addConsumer(first, false).get();
        queue.addConsumer(second, false).get();
        queue.removeConsumer(first).get();
        assertThat(vhost.queues()).hasSize(1);
        queue.removeConsumer(second).get();
        assertThat(vhost.queues()).isEmpty();
        refused(() -> vhost.queue("auto", connection), NOT_FOUND, "no queue 'auto' in vhost '/'");
    }

    @Test
    void shouldRedeclareAQueueThatWasDeletedWhileTheDeclareRan() throws Exception {
        vhost.declareQueue("again", false, false, false, true, Map.of(), connection)
                .get();
        MessageQueue queue = vhost.queue("again", connection);
        TestConsumer consumer = TestConsumer.autoAck("c");
        queue.addConsumer(consumer, false).get();
        // the removal is posted before the redeclare reaches the old queue's mailbox
        CompletableFuture<Void> removed = queue.removeConsumer(consumer);
        QueueDeclareOk ok = vhost.declareQueue("again", false, false, false, true, Map.of(), connection)
                .get();
        removed.get();
        assertThat(ok.queue()).isEqualTo("again");
        await().untilAsserted(() -> assertThat(vhost.queue("again", connection)).isNotSameAs(queue));
    }

    @Test
    void shouldDeleteQueuesWithIfUnusedAndIfEmptyAndAnswerZeroForMissingOnes() throws Exception {
        TestMessages messages = new TestMessages();
        assertThat(vhost.deleteQueue("never-declared", false, false, connection).get())
                .isZero();
        declareQueue("q", Map.of());
        MessageQueue queue = vhost.queue("q", connection);
        TestConsumer consumer = TestConsumer.manual("c").withCredit(0);
        queue.addConsumer(consumer, false).get();
        queue.enqueue(messages.create("m"), null);
        refused(
                () -> vhost.deleteQueue("q", true, false, connection).get(),
                PRECONDITION_FAILED,
                "queue 'q' in vhost '/' in use");
        refused(
                () -> vhost.deleteQueue("q", false, true, connection).get(),
                PRECONDITION_FAILED,
                "queue 'q' in vhost '/' not empty");
        assertThat(vhost.deleteQueue("q", false, false, connection).get()).isEqualTo(1);
        assertThat(consumer.cancelled).isTrue();
        messages.assertAllReleased();
    }

    @Test
    void shouldRefuseBindingsToMissingQueuesAndExchangesWith404() throws Exception {
        declareQueue("q", Map.of());
        refused(
                () -> vhost.bindQueue("q", "missing", "k", Map.of(), connection),
                NOT_FOUND,
                "no exchange 'missing' in vhost '/'");
        refused(
                () -> vhost.bindQueue("missing", "amq.direct", "k", Map.of(), connection),
                NOT_FOUND,
                "no queue 'missing' in vhost '/'");
        refused(
                () -> vhost.unbindQueue("missing", "amq.direct", "k", Map.of(), connection),
                NOT_FOUND,
                "no queue 'missing' in vhost '/'");
        refused(
                () -> vhost.bindExchange("missing", "amq.direct", "k", Map.of()),
                NOT_FOUND,
                "no exchange 'missing' in vhost '/'");
        refused(
                () -> vhost.bindExchange("amq.direct", "missing", "k", Map.of()),
                NOT_FOUND,
                "no exchange 'missing' in vhost '/'");
        assertThatCode(() -> vhost.unbindQueue("q", "amq.direct", "never-bound", Map.of(), connection))
                .as("removing a binding that does not exist succeeds")
                .doesNotThrowAnyException();
    }

    @Test
    void shouldKeepOneBindingPerSourceDestinationKeyAndArguments() throws Exception {
        declareQueue("q", Map.of());
        vhost.bindQueue("q", "amq.direct", "k", Map.of(), connection);
        vhost.bindQueue("q", "amq.direct", "k", Map.of(), connection);
        vhost.bindQueue("q", "amq.direct", "k", Map.of("x-arg", "v"), connection);
        assertThat(vhost.exchange("amq.direct").bindings()).hasSize(2);
        vhost.unbindQueue("q", "amq.direct", "k", Map.of(), connection);
        assertThat(vhost.exchange("amq.direct").bindings()).hasSize(1);
    }

    @Test
    void shouldRefuseAnInvalidXMatchWith406() throws Exception {
        declareQueue("q", Map.of());
        refused(
                () -> vhost.bindQueue("q", "amq.headers", "", Map.of("x-match", "some"), connection),
                PRECONDITION_FAILED,
                "Invalid x-match field value <<\"some\">>; expected all, any, all-with-x, or any-with-x");
        refused(
                () -> vhost.bindQueue("q", "amq.headers", "", Map.of("x-match", 1), connection),
                PRECONDITION_FAILED,
                "Invalid x-match field type signedint (value 1); expected longstr");
        assertThat(vhost.exchange("amq.headers").bindings()).isEmpty();
    }

    @Test
    void shouldRefuseInvalidQueueArgumentsWith406() {
        assertThatThrownBy(() -> declareQueue("q", Map.of("x-max-length", "ten")))
                .isInstanceOf(AmqpException.class)
                .satisfies(e -> assertThat(((AmqpException) e).replyCode()).isEqualTo(PRECONDITION_FAILED));
        assertThat(vhost.queues()).isEmpty();
    }
}
