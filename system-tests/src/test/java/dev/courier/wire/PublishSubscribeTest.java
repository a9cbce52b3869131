package dev.courier.wire;

import static dev.courier.wire.Wire.bytes;
import static dev.courier.wire.Wire.closedBy;
import static dev.courier.wire.Wire.replyCode;
import static dev.courier.wire.Wire.text;
import static org.assertj.core.api.Assertions.assertThat;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.BuiltinExchangeType;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.GetResponse;
import com.rabbitmq.client.ShutdownSignalException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Publish/subscribe: fanout, direct, topic and headers exchanges, e2e bindings, alternate exchange. */
class PublishSubscribeTest {
    @RegisterExtension
    static final CourierBroker broker = new CourierBroker();

    private static String queue(Channel channel) throws Exception {
        return channel.queueDeclare("", false, true, true, null).getQueue();
    }

    /** The bodies each queue holds, draining them. */
    private static List<String> drain(Channel channel, String queue) throws Exception {
        List<String> bodies = new ArrayList<>();
        GetResponse response;
        while ((response = channel.basicGet(queue, true)) != null) {
            bodies.add(text(response.getBody()));
        }
        return bodies;
    }

    @Test
    void shouldGiveEveryFanoutSubscriberItsOwnCopy() throws Exception {
        Channel channel = broker.connect().createChannel();
        String exchange = CourierBroker.unique("fanout");
        channel.exchangeDeclare(exchange, BuiltinExchangeType.FANOUT, false, true, null);
        List<String> queues = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            String q = queue(channel);
            channel.queueBind(q, exchange, "ignored-" + i);
            queues.add(q);
        }
        channel.confirmSelect();
        channel.basicPublish(exchange, "any", null, bytes("news"));
        channel.waitForConfirmsOrDie(5_000);
        for (String q : queues) {
            assertThat(drain(channel, q)).containsExactly("news");
        }
    }

    @Test
    void shouldRouteDirectByExactKey() throws Exception {
        Channel channel = broker.connect().createChannel();
        String exchange = CourierBroker.unique("direct");
        channel.exchangeDeclare(exchange, BuiltinExchangeType.DIRECT, false, true, null);
        String errors = queue(channel);
        String all = queue(channel);
        channel.queueBind(errors, exchange, "error");
        channel.queueBind(all, exchange, "error");
        channel.queueBind(all, exchange, "info");
        channel.confirmSelect();
        channel.basicPublish(exchange, "error", null, bytes("e1"));
        channel.basicPublish(exchange, "info", null, bytes("i1"));
        channel.basicPublish(exchange, "debug", null, bytes("d1"));
        channel.waitForConfirmsOrDie(5_000);
        assertThat(drain(channel, errors)).containsExactly("e1");
        assertThat(drain(channel, all)).containsExactly("e1", "i1");
    }

    @Test
    void shouldRouteTopicsWithStarAndHash() throws Exception {
        Channel channel = broker.connect().createChannel();
        String exchange = CourierBroker.unique("topic");
        channel.exchangeDeclare(exchange, BuiltinExchangeType.TOPIC, false, true, null);
        Map<String, String> queueByPattern = new HashMap<>();
        for (String pattern : List.of("*.orange.*", "*.*.rabbit", "lazy.#", "#", "a..b", "", "#.end")) {
            String q = queue(channel);
            channel.queueBind(q, exchange, pattern);
            queueByPattern.put(pattern, q);
        }
        channel.confirmSelect();
        for (String key :
                List.of("quick.orange.rabbit", "lazy.orange.elephant", "lazy", "a..b", "", "x.end", "end", "orange")) {
            channel.basicPublish(exchange, key, null, bytes(key));
        }
        channel.waitForConfirmsOrDie(5_000);
        assertThat(drain(channel, queueByPattern.get("*.orange.*")))
                .containsExactly("quick.orange.rabbit", "lazy.orange.elephant");
        assertThat(drain(channel, queueByPattern.get("*.*.rabbit"))).containsExactly("quick.orange.rabbit");
        assertThat(drain(channel, queueByPattern.get("lazy.#"))).containsExactly("lazy.orange.elephant", "lazy");
        assertThat(drain(channel, queueByPattern.get("#"))).hasSize(8);
        assertThat(drain(channel, queueByPattern.get("a..b"))).containsExactly("a..b");
        assertThat(drain(channel, queueByPattern.get(""))).containsExactly("");
        assertThat(drain(channel, queueByPattern.get("#.end"))).containsExactly("x.end", "end");
    }

    @Test
    void shouldRouteOnHeadersWithAllAndAny() throws Exception {
        Channel channel = broker.connect().createChannel();
        String exchange = CourierBroker.unique("headers");
        channel.exchangeDeclare(exchange, BuiltinExchangeType.HEADERS, false, true, null);
        String all = queue(channel);
        String any = queue(channel);
        String present = queue(channel);
        channel.queueBind(all, exchange, "", Map.of("x-match", "all", "format", "pdf", "type", "report"));
        channel.queueBind(any, exchange, "", Map.of("x-match", "any", "format", "pdf", "type", "report"));
        Map<String, Object> presence = new HashMap<>();
        presence.put("flag", null);
        channel.queueBind(present, exchange, "", presence);
        channel.confirmSelect();
        publishWithHeaders(channel, exchange, "both", Map.of("format", "pdf", "type", "report"));
        publishWithHeaders(channel, exchange, "one", Map.of("format", "pdf", "type", "log"));
        publishWithHeaders(channel, exchange, "none", Map.of("format", "zip"));
        publishWithHeaders(channel, exchange, "flagged", Map.of("flag", 42));
        channel.waitForConfirmsOrDie(5_000);
        assertThat(drain(channel, all)).containsExactly("both");
        assertThat(drain(channel, any)).containsExactly("both", "one");
        assertThat(drain(channel, present)).containsExactly("flagged");
    }

    private static void publishWithHeaders(Channel channel, String exchange, String body, Map<String, Object> headers)
            throws Exception {
        channel.basicPublish(
                exchange,
                "",
                new AMQP.BasicProperties.Builder().headers(headers).build(),
                bytes(body));
    }

    @Test
    void shouldFollowExchangeToExchangeBindingsWithoutLoopingOnCycles() throws Exception {
        Channel channel = broker.connect().createChannel();
        String upstream = CourierBroker.unique("up");
        String downstream = CourierBroker.unique("down");
        // not auto-delete: unbinding the last binding would delete them (RabbitMQ does the same)
        channel.exchangeDeclare(upstream, BuiltinExchangeType.TOPIC, false, false, null);
        channel.exchangeDeclare(downstream, BuiltinExchangeType.FANOUT, false, false, null);
        channel.exchangeBind(downstream, upstream, "orders.#");
        channel.exchangeBind(upstream, downstream, "#"); // a cycle
        String q = queue(channel);
        channel.queueBind(q, downstream, "");
        channel.confirmSelect();
        channel.basicPublish(upstream, "orders.new", null, bytes("o1"));
        channel.basicPublish(upstream, "invoices.new", null, bytes("i1"));
        channel.waitForConfirmsOrDie(5_000);
        assertThat(drain(channel, q)).containsExactly("o1");
        channel.exchangeUnbind(downstream, upstream, "orders.#");
        channel.basicPublish(upstream, "orders.new", null, bytes("o2"));
        channel.waitForConfirmsOrDie(5_000);
        assertThat(drain(channel, q)).isEmpty();
        channel.exchangeDelete(upstream);
        channel.exchangeDelete(downstream);
    }

    @Test
    void shouldSendUnroutableMessagesToTheAlternateExchange() throws Exception {
        Channel channel = broker.connect().createChannel();
        String alternate = CourierBroker.unique("ae");
        String main = CourierBroker.unique("main");
        channel.exchangeDeclare(alternate, BuiltinExchangeType.FANOUT, false, true, null);
        channel.exchangeDeclare(main, BuiltinExchangeType.DIRECT, false, true, Map.of("alternate-exchange", alternate));
        String routed = queue(channel);
        String unroutable = queue(channel);
        channel.queueBind(routed, main, "known");
        channel.queueBind(unroutable, alternate, "");
        channel.confirmSelect();
        channel.basicPublish(main, "known", null, bytes("k"));
        channel.basicPublish(main, "unknown", null, bytes("u"));
        channel.waitForConfirmsOrDie(5_000);
        assertThat(drain(channel, routed)).containsExactly("k");
        assertThat(drain(channel, unroutable)).containsExactly("u");
    }

    @Test
    void shouldRefuseAnInequivalentExchangeRedeclareWith406() throws Exception {
        Channel channel = broker.connect().createChannel();
        String exchange = CourierBroker.unique("x");
        channel.exchangeDeclare(exchange, BuiltinExchangeType.DIRECT, false, true, null);
        channel.exchangeDeclare(exchange, BuiltinExchangeType.DIRECT, false, true, null);
        ShutdownSignalException e =
                closedBy(() -> channel.exchangeDeclare(exchange, BuiltinExchangeType.FANOUT, false, true, null));
        assertThat(replyCode(e)).isEqualTo(406);
        assertThat(Wire.replyText(e)).contains("inequivalent arg 'type'");
    }

    @Test
    void shouldRefusePublishingToAnInternalExchangeWith403() throws Exception {
        Channel channel = broker.connect().createChannel();
        String exchange = CourierBroker.unique("internal");
        channel.exchangeDeclare(exchange, BuiltinExchangeType.FANOUT, false, true, true, null);
        channel.basicPublish(exchange, "", null, bytes("x"));
        ShutdownSignalException e = closedBy(() -> channel.queueDeclare());
        assertThat(replyCode(e)).isEqualTo(403);
    }

    @Test
    void shouldCloseTheChannelWith404WhenPublishingToAMissingExchange() throws Exception {
        Connection connection = broker.connect();
        Channel channel = connection.createChannel();
        channel.basicPublish(CourierBroker.unique("nowhere"), "", null, bytes("x"));
        ShutdownSignalException e = closedBy(() -> channel.queueDeclare());
        assertThat(replyCode(e)).isEqualTo(404);
        assertThat(connection.isOpen()).isTrue();
    }

    @Test
    void shouldCloseTheConnectionWith503ForAnUnknownExchangeType() throws Exception {
        Connection connection = broker.connect();
        Channel channel = connection.createChannel();
        ShutdownSignalException e = closedBy(() -> channel.exchangeDeclare(CourierBroker.unique("x"), "no-such-type"));
        assertThat(replyCode(e)).isEqualTo(503);
        assertThat(e.isHardError()).isTrue();
    }

    @Test
    void shouldRefuseDeletingAnExchangeInUseWhenIfUnused() throws Exception {
        Channel channel = broker.connect().createChannel();
        String exchange = CourierBroker.unique("inuse");
        channel.exchangeDeclare(exchange, BuiltinExchangeType.FANOUT, false, false, null);
        String q = queue(channel);
        channel.queueBind(q, exchange, "");
        ShutdownSignalException e = closedBy(() -> channel.exchangeDelete(exchange, true));
        assertThat(replyCode(e)).isEqualTo(406);
        Channel again = broker.connect().createChannel();
        again.exchangeDelete(exchange);
        ShutdownSignalException gone = closedBy(() -> again.exchangeDeclarePassive(exchange));
        assertThat(replyCode(gone)).isEqualTo(404);
    }

    @Test
    void shouldRefuseBindingToTheDefaultExchangeWith403() throws Exception {
        Channel channel = broker.connect().createChannel();
        String q = queue(channel);
        ShutdownSignalException e = closedBy(() -> channel.queueBind(q, "", q));
        assertThat(replyCode(e)).isEqualTo(403);
    }

    @Test
    void shouldDeleteAnAutoDeleteExchangeWhenItsLastBindingGoes() throws Exception {
        Channel channel = broker.connect().createChannel();
        String exchange = CourierBroker.unique("autodel");
        channel.exchangeDeclare(exchange, BuiltinExchangeType.FANOUT, false, true, null);
        String q = queue(channel);
        channel.queueBind(q, exchange, "");
        channel.queueUnbind(q, exchange, "");
        ShutdownSignalException e = closedBy(() -> channel.exchangeDeclarePassive(exchange));
        assertThat(replyCode(e)).isEqualTo(404);
    }
}
