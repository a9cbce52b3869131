package dev.courier.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Request/response with {@link RpcClient} and {@link RpcServer} through a real broker. */
class RpcTest {
    @RegisterExtension
    static final TestBroker broker = new TestBroker();

    private static final Duration LONG = Duration.ofSeconds(30);

    @Test
    void shouldAnswerARequestThroughDirectReplyTo() throws Exception {
        String queue = queue();
        RpcServer.start(broker.connect(), queue, 1, request -> upper(request.getBody()));
        RpcClient client = RpcClient.create(broker.connect(), "", queue, LONG);

        assertThat(text(client.call(bytes("hello")))).isEqualTo("HELLO");
        assertThat(client.pendingCount()).isZero();
    }

    @Test
    void shouldMatchEveryReplyToItsRequestUnderConcurrency() throws Exception {
        String queue = queue();
        Set<String> serverThreads = ConcurrentHashMap.newKeySet();
        for (int i = 0; i < 2; i++) {
            RpcServer.start(broker.connect(), queue, 5, request -> {
                serverThreads.add(Thread.currentThread().getName());
                return upper(request.getBody());
            });
        }
        RpcClient client = RpcClient.create(broker.connect(), "", queue, LONG);

        List<CompletableFuture<byte[]>> calls = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            calls.add(client.callAsync(bytes("request-" + i)));
        }

        for (int i = 0; i < calls.size(); i++) {
            assertThat(text(calls.get(i).get(30, TimeUnit.SECONDS))).isEqualTo("REQUEST-" + i);
        }
        assertThat(client.pendingCount()).isZero();
    }

    @Test
    void shouldTimeOutWhenNoReplyComesAndDropTheLateReply() throws Exception {
        String queue = queue();
        RpcClient client = RpcClient.create(broker.connect(), "", queue, Duration.ofMillis(300));

        assertThatThrownBy(() -> client.call(bytes("anyone?")))
                .isInstanceOf(RpcTimeoutException.class)
                .hasMessageContaining("300 ms")
                .hasMessageContaining(queue);
        assertThat(client.pendingCount()).isZero();

        // the request is still queued; a server that comes up late answers it, and the answer is dropped
        CountDownLatch answeredLate = new CountDownLatch(1);
        RpcServer.start(broker.connect(), queue, 1, request -> {
            answeredLate.countDown();
            return upper(request.getBody());
        });
        assertThat(answeredLate.await(30, TimeUnit.SECONDS)).isTrue();
        assertThat(text(client.call(null, bytes("now"), LONG).getBody())).isEqualTo("NOW");
    }

    @Test
    void shouldFailFastWithTheServersErrorWhenItsHandlerThrows() throws Exception {
        String queue = queue();
        RpcServer.start(broker.connect(), queue, 1, request -> {
            throw new IllegalArgumentException("no such account: 42");
        });
        RpcClient client = RpcClient.create(broker.connect(), "", queue, LONG);

        assertThatThrownBy(() -> client.call(bytes("balance 42")))
                .isInstanceOf(RpcRemoteException.class)
                .hasMessage("IllegalArgumentException: no such account: 42");
        // the failed request was acked, not retried
        Channel channel = broker.connect().createChannel();
        await().until(() -> channel.queueDeclarePassive(queue).getMessageCount() == 0);
    }

    @Test
    void shouldFailFastWhenNoQueueTakesTheRequest() throws Exception {
        RpcClient client = RpcClient.create(broker.connect(), "", TestBroker.unique("nobody-home"), LONG);

        assertThatThrownBy(() -> client.call(bytes("hello")))
                .isInstanceOf(UnroutableMessageException.class)
                .hasMessageContaining("312")
                .satisfies(e ->
                        assertThat(((UnroutableMessageException) e).replyCode()).isEqualTo(312));
        assertThat(client.pendingCount()).isZero();
    }

    @Test
    void shouldFailPendingCallsWhenTheConnectionIsLost() throws Exception {
        String queue = queue();
        Connection connection = broker.connect();
        RpcClient client = RpcClient.create(connection, "", queue, LONG);
        CompletableFuture<byte[]> call = client.callAsync(bytes("hello"));

        connection.abort(1_000);

        assertThatThrownBy(() -> call.get(30, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class)
                .hasCauseInstanceOf(IOException.class);
        assertThatThrownBy(() -> client.call(bytes("again"))).isInstanceOf(IOException.class);
    }

    @Test
    void shouldHandleAndAckARequestWithoutReplyTo() throws Exception {
        String queue = queue();
        List<String> handled = new CopyOnWriteArrayList<>();
        RpcServer.start(broker.connect(), queue, 1, request -> {
            handled.add(text(request.getBody()));
            return bytes("nobody listens");
        });
        Channel channel = broker.connect().createChannel();

        channel.basicPublish("", queue, null, bytes("fire and forget"));

        await().until(() -> handled.contains("fire and forget"));
        await().until(() -> channel.queueDeclarePassive(queue).getMessageCount() == 0);
    }

    @Test
    void shouldFinishTheRequestInProgressWhenTheServerCloses() throws Exception {
        String queue = queue();
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger handled = new AtomicInteger();
        RpcServer server = RpcServer.start(broker.connect(), queue, 1, request -> {
            entered.countDown();
            release.await();
            handled.incrementAndGet();
            return upper(request.getBody());
        });
        RpcClient client = RpcClient.create(broker.connect(), "", queue, LONG);
        CompletableFuture<byte[]> call = client.callAsync(bytes("slow"));
        assertThat(entered.await(30, TimeUnit.SECONDS)).isTrue();

        CompletableFuture<Boolean> closed = CompletableFuture.supplyAsync(() -> server.close(LONG));
        release.countDown();

        assertThat(closed.get(30, TimeUnit.SECONDS)).isTrue();
        assertThat(text(call.get(30, TimeUnit.SECONDS))).isEqualTo("SLOW");
        assertThat(handled).hasValue(1);
    }

    private static String queue() throws Exception {
        try (Connection connection = broker.factory().newConnection()) {
            return connection
                    .createChannel()
                    .queueDeclare(TestBroker.unique("rpc"), false, false, false, null)
                    .getQueue();
        }
    }

    static byte[] upper(byte[] body) {
        return text(body).toUpperCase(Locale.ROOT).getBytes(StandardCharsets.UTF_8);
    }

    static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    static String text(byte[] bytes) {
        return new String(bytes, StandardCharsets.UTF_8);
    }
}
