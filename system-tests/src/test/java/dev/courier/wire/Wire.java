package dev.courier.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.GetResponse;
import com.rabbitmq.client.ShutdownSignalException;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionFactory;

/** Small helpers shared by the wire tests. */
final class Wire {
    private Wire() {}

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static String text(byte[] body) {
        return new String(body, StandardCharsets.UTF_8);
    }

    static ConditionFactory await() {
        return Awaitility.await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(10));
    }

    /** Gets the next message (auto-ack), waiting for it to arrive. */
    static GetResponse getEventually(Channel channel, String queue) {
        return getEventually(channel, queue, true);
    }

    /** Gets the next message, waiting for it to arrive. */
    static GetResponse getEventually(Channel channel, String queue, boolean autoAck) {
        GetResponse[] holder = new GetResponse[1];
        await().until(() -> (holder[0] = channel.basicGet(queue, autoAck)) != null);
        return holder[0];
    }

    /** Runs a call that must fail with a channel or connection close; returns the close reason. */
    static ShutdownSignalException closedBy(ThrowingRunnable call) {
        Throwable thrown = catchThrowable(call::run);
        assertThat(thrown)
                .as("expected the broker to close the channel or connection")
                .isNotNull();
        Throwable cause = thrown;
        while (cause != null && !(cause instanceof ShutdownSignalException)) {
            cause = cause.getCause();
        }
        assertThat(cause).as("cause chain of %s", thrown).isInstanceOf(ShutdownSignalException.class);
        return (ShutdownSignalException) cause;
    }

    /** The reply code of a channel or connection close. */
    static int replyCode(ShutdownSignalException e) {
        Object reason = e.getReason();
        if (reason instanceof AMQP.Channel.Close close) {
            return close.getReplyCode();
        }
        if (reason instanceof AMQP.Connection.Close close) {
            return close.getReplyCode();
        }
        throw new AssertionError("unexpected close reason " + reason);
    }

    static String replyText(ShutdownSignalException e) {
        Object reason = e.getReason();
        if (reason instanceof AMQP.Channel.Close close) {
            return close.getReplyText();
        }
        if (reason instanceof AMQP.Connection.Close close) {
            return close.getReplyText();
        }
        throw new AssertionError("unexpected close reason " + reason);
    }

    @FunctionalInterface
    interface ThrowingRunnable {
        void run() throws IOException, Exception;
    }

    /** A management API call as guest to the node listening on {@code httpPort}; answers the status code. */
    static int guestApiCall(HttpClient http, int httpPort, String method, String path, Object body) throws Exception {
        return http.send(guestRequest(httpPort, method, path, body), HttpResponse.BodyHandlers.ofString())
                .statusCode();
    }

    /** A management API GET as guest; answers the body, which must come with a 200. */
    static String guestGet(int httpPort, String path) throws Exception {
        HttpResponse<String> response = HttpClient.newHttpClient()
                .send(guestRequest(httpPort, "GET", path, null), HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
            throw new AssertionError("GET " + path + " answered " + response.statusCode() + ": " + response.body());
        }
        return response.body();
    }

    private static HttpRequest guestRequest(int httpPort, String method, String path, Object body) throws Exception {
        return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + path))
                .header(
                        "Authorization",
                        "Basic " + Base64.getEncoder().encodeToString("guest:guest".getBytes(StandardCharsets.UTF_8)))
                .method(
                        method,
                        body == null
                                ? HttpRequest.BodyPublishers.noBody()
                                : HttpRequest.BodyPublishers.ofString(new ObjectMapper().writeValueAsString(body)))
                .build();
    }
}
