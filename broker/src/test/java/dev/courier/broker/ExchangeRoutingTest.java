package dev.courier.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.courier.protocol.AmqpConstants;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Routing through every exchange type, exchange-to-exchange bindings and alternate exchanges. */
class ExchangeRoutingTest {
    private final Broker broker = new Broker(new BrokerConfig(1));
    private final VirtualHost vhost = broker.vhost("/");
    private final TestMessages messages = new TestMessages();

    @AfterEach
    void closeAndCheckForLeaks() {
        broker.close();
        messages.assertAllReleased();
    }

    private void queues(String... names) throws Exception {
        for (String name : names) {
            vhost.declareQueue(name, false, false, false, false, Map.of(), null).get();
        }
    }

    private void exchange(String name, String type) {
        vhost.declareExchange(name, type, false, false, false, false, Map.of());
    }

    private void exchange(String name, String type, String alternate) {
        vhost.declareExchange(name, type, false, false, false, false, Map.of("alternate-exchange", alternate));
    }

    private List<String> route(String exchange, String routingKey) {
        return route(exchange, routingKey, messages.create(""));
    }

    private List<String> route(String exchange, String routingKey, Message message) {
        try {
            List<MessageQueue> out = new ArrayList<>();
            vhost.route(exchange, routingKey, message, out);
            return out.stream().map(MessageQueue::name).toList();
        } finally {
            message.release();
        }
    }

    private List<String> routeHeaders(String exchange, Map<String, Object> headers) {
        return route(exchange, "", messages.withHeaders(headers));
    }

    @Test
    void shouldRouteTheDefaultExchangeByQueueName() throws Exception {
        queues("named");
        assertThat(route("", "named")).containsExactly("named");
        assertThat(route("", "nope")).isEmpty();
    }

    @Test
    void shouldCreateTheBuiltInExchangesOfRabbitMq() {
        Map<String, String> types = new HashMap<>();
        for (Exchange exchange : vhost.exchanges()) {
            types.put(exchange.name(), exchange.type());
            assertThat(exchange.durable()).as(exchange.name()).isTrue();
            assertThat(exchange.internal()).as(exchange.name()).isFalse();
            assertThat(exchange.autoDelete()).as(exchange.name()).isFalse();
        }
        assertThat(types)
                .isEqualTo(Map.of(
                        "", "direct",
                        "amq.direct", "direct",
                        "amq.fanout", "fanout",
                        "amq.topic", "topic",
                        "amq.headers", "headers",
                        "amq.match", "headers"));
    }

    @Test
    void shouldRouteDirectExchangesByExactKey() throws Exception {
        queues("q1", "q2", "q3");
        vhost.bindQueue("q1", "amq.direct", "k", Map.of(), null);
        vhost.bindQueue("q2", "amq.direct", "k", Map.of(), null);
        vhost.bindQueue("q3", "amq.direct", "other", Map.of(), null);
        vhost.bindQueue("q3", "amq.direct", "", Map.of(), null);
        assertThat(route("amq.direct", "k")).containsExactlyInAnyOrder("q1", "q2");
        assertThat(route("amq.direct", "")).containsExactly("q3");
        assertThat(route("amq.direct", "K")).isEmpty();
        vhost.unbindQueue("q2", "amq.direct", "k", Map.of(), null);
        assertThat(route("amq.direct", "k")).containsExactly("q1");
    }

    @Test
    void shouldRouteFanoutExchangesToEveryQueueOnce() throws Exception {
        queues("q1", "q2");
        vhost.bindQueue("q1", "amq.fanout", "a", Map.of(), null);
        vhost.bindQueue("q1", "amq.fanout", "b", Map.of(), null);
        vhost.bindQueue("q2", "amq.fanout", "", Map.of(), null);
        assertThat(route("amq.fanout", "anything")).containsExactlyInAnyOrder("q1", "q2");
    }

    @Test
    void shouldRouteTopicExchangesByPatternAndNameEachQueueOnce() throws Exception {
        queues("orange", "rabbit", "lazy");
        vhost.bindQueue("orange", "amq.topic", "*.orange.*", Map.of(), null);
        vhost.bindQueue("rabbit", "amq.topic", "*.*.rabbit", Map.of(), null);
        vhost.bindQueue("lazy", "amq.topic", "lazy.#", Map.of(), null);
        vhost.bindQueue("lazy", "amq.topic", "*.*.rabbit", Map.of(), null);
        assertThat(route("amq.topic", "quick.orange.rabbit")).containsExactlyInAnyOrder("orange", "rabbit", "lazy");
        assertThat(route("amq.topic", "lazy.pink.rabbit")).containsExactlyInAnyOrder("rabbit", "lazy");
        assertThat(route("amq.topic", "quick.brown.fox")).isEmpty();
        assertThat(route("amq.topic", "lazy")).containsExactly("lazy");
    }

    @Test
    void shouldRouteHeadersExchangesWithAllAndAny() throws Exception {
        queues("all", "any", "withX", "presence");
        vhost.bindQueue("all", "amq.headers", "", Map.of("format", "pdf", "type", "report"), null);
        vhost.bindQueue("any", "amq.match", "", Map.of("x-match", "any", "format", "pdf", "type", "log"), null);
        vhost.bindQueue("any", "amq.headers", "", Map.of("x-match", "any", "format", "pdf", "type", "log"), null);
        vhost.bindQueue("withX", "amq.headers", "", Map.of("x-match", "all-with-x", "x-tenant", "t1"), null);
        Map<String, Object> presence = new HashMap<>();
        presence.put("flag", null);
        vhost.bindQueue("presence", "amq.headers", "", presence, null);

        assertThat(routeHeaders("amq.headers", Map.of("format", "pdf", "type", "report")))
                .containsExactlyInAnyOrder("all", "any");
        assertThat(routeHeaders("amq.headers", Map.of("type", "log"))).containsExactly("any");
        assertThat(routeHeaders("amq.headers", Map.of("x-tenant", "t1"))).containsExactly("withX");
        assertThat(routeHeaders("amq.headers", Map.of("flag", 42))).containsExactly("presence");
        assertThat(routeHeaders("amq.headers", Map.of())).isEmpty();
        assertThat(route("amq.match", "")).isEmpty(); // no headers at all
    }

    @Test
    void shouldFollowExchangeToExchangeBindingsAndStopAtCycles() throws Exception {
        queues("q1", "q2", "q3");
        exchange("a", "fanout");
        exchange("b", "direct");
        exchange("c", "topic");
        vhost.bindExchange("b", "a", "", Map.of());
        vhost.bindExchange("c", "b", "k", Map.of());
        vhost.bindExchange("a", "c", "#", Map.of()); // a -> b -> c -> a
        vhost.bindExchange("a", "a", "", Map.of()); // and a -> a
        vhost.bindQueue("q1", "a", "", Map.of(), null);
        vhost.bindQueue("q2", "b", "k", Map.of(), null);
        vhost.bindQueue("q3", "c", "#", Map.of(), null);
        vhost.bindQueue("q1", "c", "k", Map.of(), null); // reachable twice

        assertThat(route("a", "k")).containsExactlyInAnyOrder("q1", "q2", "q3");
        assertThat(route("a", "x")).containsExactly("q1");
        assertThat(route("c", "x")).containsExactlyInAnyOrder("q3", "q1");
        vhost.unbindExchange("b", "a", "", Map.of());
        assertThat(route("a", "k")).containsExactly("q1");
    }

    @Test
    void shouldUseTheAlternateExchangeOnlyWhenTheExchangeMatchedNothing() throws Exception {
        queues("main", "fallback", "deep");
        exchange("ae", "fanout");
        exchange("x", "direct", "ae");
        exchange("empty", "fanout");
        vhost.bindQueue("main", "x", "k", Map.of(), null);
        vhost.bindQueue("fallback", "ae", "", Map.of(), null);
        vhost.bindExchange("empty", "x", "to-empty", Map.of());

        assertThat(route("x", "k")).containsExactly("main");
        assertThat(route("x", "unbound")).containsExactly("fallback");
        // RabbitMQ: x matched an exchange, so its alternate is not used even though that led nowhere
        assertThat(route("x", "to-empty")).isEmpty();

        exchange("y", "direct", "x"); // y -> (alternate) x -> (alternate) ae
        vhost.bindQueue("deep", "y", "d", Map.of(), null);
        assertThat(route("y", "d")).containsExactly("deep");
        assertThat(route("y", "k")).containsExactly("main");
        assertThat(route("y", "none")).containsExactly("fallback");
    }

    @Test
    void shouldIgnoreAMissingOrCircularAlternateExchange() throws Exception {
        queues("q");
        exchange("lonely", "direct", "does-not-exist");
        assertThat(route("lonely", "k")).isEmpty();
        exchange("ping", "direct", "pong");
        exchange("pong", "direct", "ping");
        assertThat(route("ping", "k")).isEmpty();
        vhost.bindQueue("q", "pong", "k", Map.of(), null);
        assertThat(route("ping", "k")).containsExactly("q");
    }

    @Test
    void shouldRouteToTheDefaultExchangeWhenItIsTheAlternate() throws Exception {
        queues("by-name");
        exchange("x", "direct", "");
        assertThat(route("x", "by-name")).containsExactly("by-name");
    }

    @Test
    void shouldRouteThroughInternalExchangesBoundToOthers() throws Exception {
        queues("q");
        vhost.declareExchange("hidden", "fanout", false, false, false, true, Map.of());
        vhost.bindExchange("hidden", "amq.fanout", "", Map.of());
        vhost.bindQueue("q", "hidden", "", Map.of(), null);
        assertThat(vhost.isInternal("hidden")).isTrue();
        assertThat(vhost.isInternal("amq.fanout")).isFalse();
        assertThat(vhost.isInternal("missing")).isFalse();
        assertThat(route("amq.fanout", "")).containsExactly("q");
    }

    @Test
    void shouldAnswer404ForAnUnknownExchange() {
        Message message = messages.create("");
        try {
            assertThatThrownBy(() -> vhost.route("missing", "", message, new ArrayList<>()))
                    .isInstanceOf(AmqpException.class)
                    .hasMessage("no exchange 'missing' in vhost '/'")
                    .extracting(e -> ((AmqpException) e).replyCode())
                    .isEqualTo(AmqpConstants.NOT_FOUND);
        } finally {
            message.release();
        }
    }

    @Test
    void shouldNameEachQueueOnceWhenManyPathsLeadToIt() throws Exception {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            names.add("q" + i);
        }
        queues(names.toArray(new String[0]));
        exchange("t", "topic");
        for (String name : names) {
            vhost.bindQueue(name, "t", "a.*", Map.of(), null);
            vhost.bindQueue(name, "t", "#", Map.of(), null);
            vhost.bindQueue(name, "t", "a.b", Map.of(), null);
        }
        assertThat(route("t", "a.b")).containsExactlyInAnyOrderElementsOf(names);
    }

    @Test
    void shouldForgetBindingsOfADeletedQueueAndDeletedExchange() throws Exception {
        queues("gone", "kept");
        exchange("x", "fanout");
        exchange("downstream", "fanout");
        vhost.bindQueue("gone", "x", "", Map.of(), null);
        vhost.bindQueue("kept", "downstream", "", Map.of(), null);
        vhost.bindExchange("downstream", "x", "", Map.of());
        vhost.deleteQueue("gone", false, false, null).get();
        assertThat(route("x", "")).containsExactly("kept");
        vhost.deleteExchange("downstream", false);
        assertThat(route("x", "")).isEmpty();
        assertThat(vhost.bindings()).isEmpty();
    }
}
