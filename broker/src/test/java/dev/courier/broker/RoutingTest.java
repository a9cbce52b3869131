package dev.courier.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.courier.protocol.AmqpConstants;
import dev.courier.protocol.BasicProperties;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Declares, bindings and routing in a vhost, with RabbitMQ's reply codes for refusals. */
class RoutingTest {
    private final Broker broker = new Broker(new BrokerConfig(1));
    private final VirtualHost vhost = broker.vhost("/");

    @AfterEach
    void close() {
        broker.close();
    }

    private void queue(String name) throws Exception {
        vhost.declareQueue(name, false, false, false, false, Map.of(), null).get();
    }

    private static int code(Throwable t) {
        return ((AmqpException) t).replyCode();
    }

    @Test
    void shouldFollowExchangeBindingsAndAlternateExchangesOncePerExchange() throws Exception {
        queue("q1");
        queue("q2");
        vhost.declareExchange("ae", "fanout", false, false, false, false, Map.of());
        vhost.declareExchange("main", "direct", false, false, false, false, Map.of("alternate-exchange", "ae"));
        vhost.declareExchange("loop", "fanout", false, false, false, false, Map.of());
        vhost.bindExchange("loop", "main", "k", Map.of());
        vhost.bindExchange("main", "loop", "", Map.of());
        vhost.bindQueue("q1", "loop", "", Map.of(), null);
        vhost.bindQueue("q2", "ae", "", Map.of(), null);
        assertThat(vhost.route("main", "k", BasicProperties.EMPTY))
                .extracting(MessageQueue::name)
                .containsExactly("q1");
        assertThat(vhost.route("main", "other", BasicProperties.EMPTY))
                .extracting(MessageQueue::name)
                .containsExactly("q2");
    }

    @Test
    void shouldRouteTheDefaultExchangeByQueueName() throws Exception {
        queue("named");
        assertThat(vhost.route("", "named", BasicProperties.EMPTY)).hasSize(1);
        assertThat(vhost.route("", "nope", BasicProperties.EMPTY)).isEmpty();
    }

    @Test
    void shouldRefuseWithRabbitMqsReplyCodes() throws Exception {
        assertThatThrownBy(() -> vhost.route("missing", "", BasicProperties.EMPTY))
                .satisfies(t -> assertThat(code(t)).isEqualTo(AmqpConstants.NOT_FOUND));
        assertThatThrownBy(() -> vhost.declareExchange("amq.custom", "direct", false, false, false, false, Map.of()))
                .satisfies(t -> assertThat(code(t)).isEqualTo(AmqpConstants.ACCESS_REFUSED));
        assertThatThrownBy(() -> vhost.declareExchange("x", "nope", false, false, false, false, Map.of()))
                .satisfies(t -> assertThat(code(t)).isEqualTo(AmqpConstants.COMMAND_INVALID));
        vhost.declareExchange("x", "direct", false, false, false, false, Map.of());
        assertThatThrownBy(() -> vhost.declareExchange("x", "direct", false, true, false, false, Map.of()))
                .satisfies(t -> assertThat(code(t)).isEqualTo(AmqpConstants.PRECONDITION_FAILED));
        vhost.declareExchange("amq.direct", "direct", false, true, false, false, Map.of());
        Object owner = new Object();
        vhost.declareQueue("mine", false, false, true, false, Map.of(), owner).get();
        assertThatThrownBy(() -> vhost.queue("mine", new Object()))
                .satisfies(t -> assertThat(code(t)).isEqualTo(AmqpConstants.RESOURCE_LOCKED));
        assertThat(vhost.queue("mine", owner).name()).isEqualTo("mine");
        vhost.onConnectionClosed(owner);
        org.awaitility.Awaitility.await().until(() -> vhost.queues().isEmpty());
    }
}
