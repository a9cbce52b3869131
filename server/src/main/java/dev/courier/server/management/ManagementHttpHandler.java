package dev.courier.server.management;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.courier.server.amqp.Authenticator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One HTTP connection to the management port. Decodes the request on the event loop, checks HTTP
 * basic auth, and runs the API call on the management executor (it may wait on queue actors);
 * the answer is written back on the event loop. {@code /api/...} answers JSON; the other paths
 * are the {@link StaticPages} (the web page) and {@code /metrics}.
 */
final class ManagementHttpHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
    private static final Logger LOG = LoggerFactory.getLogger(ManagementHttpHandler.class);
    static final ObjectMapper JSON = new ObjectMapper();

    private final ManagementApi api;
    private final Authenticator authenticator;
    private final Executor executor;
    private final StaticPages pages;
    private final MetricsEndpoint metrics;

    ManagementHttpHandler(
            ManagementApi api,
            Authenticator authenticator,
            Executor executor,
            StaticPages pages,
            MetricsEndpoint metrics) {
        this.api = api;
        this.authenticator = authenticator;
        this.executor = executor;
        this.pages = pages;
        this.metrics = metrics;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
        boolean keepAlive = HttpUtil.isKeepAlive(request);
        if (!request.decoderResult().isSuccess()) {
            write(ctx, error(400, "bad_request", "malformed HTTP request"), false);
            return;
        }
        QueryStringDecoder uri = new QueryStringDecoder(request.uri());
        String path = uri.rawPath();
        String method = request.method().name();
        if (path.equals("/metrics")) {
            submit(ctx, keepAlive, () -> metrics.scrape());
            return;
        }
        if (!path.equals("/api") && !path.startsWith("/api/")) {
            write(ctx, pages.serve(method, path), keepAlive);
            return;
        }
        String user = authenticate(ctx, request);
        if (user != null && !authenticator.users().user(user).canUseManagement()) {
            write(ctx, error(401, "not_authorised", "Not management user"), keepAlive);
            return;
        }
        if (user == null) {
            FullHttpResponse refused = error(401, "not_authorised", "Login failed");
            refused.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, "Basic realm=\"Courier Management\"");
            write(ctx, refused, keepAlive);
            return;
        }
        Object body;
        try {
            body = request.content().isReadable()
                    ? JSON.readValue(ByteBufUtil.getBytes(request.content()), Object.class)
                    : null;
        } catch (IOException e) {
            write(ctx, error(400, "bad_request", "the request body is not valid JSON"), keepAlive);
            return;
        }
        ManagementApi.Request call = new ManagementApi.Request(method, segments(path), uri.parameters(), body, user);
        submit(ctx, keepAlive, () -> answer(api.handle(call)));
    }

    /** Runs {@code work} on the management executor and writes its response on the event loop. */
    private void submit(
            ChannelHandlerContext ctx, boolean keepAlive, java.util.function.Supplier<FullHttpResponse> work) {
        try {
            executor.execute(() -> {
                FullHttpResponse response;
                try {
                    response = work.get();
                } catch (ApiException e) {
                    response = error(e.status(), e.error(), e.getMessage());
                } catch (RuntimeException e) {
                    LOG.error("management API call failed", e);
                    response = error(500, "internal_error", String.valueOf(e.getMessage()));
                }
                FullHttpResponse answer = response;
                ctx.executor().execute(() -> write(ctx, answer, keepAlive));
            });
        } catch (RejectedExecutionException e) {
            write(ctx, error(503, "unavailable", "the management API is busy; retry shortly"), false);
        }
    }

    /** The path after {@code /api/}, split at '/' and percent-decoded per segment ({@code %2F} is the vhost "/"). */
    static List<String> segments(String rawPath) {
        List<String> out = new ArrayList<>();
        String rest = rawPath.length() > 5 ? rawPath.substring(5) : "";
        if (rest.isEmpty()) {
            return out;
        }
        for (String segment : rest.split("/", -1)) {
            out.add(QueryStringDecoder.decodeComponent(segment, StandardCharsets.UTF_8));
        }
        while (!out.isEmpty() && out.get(out.size() - 1).isEmpty()) {
            out.remove(out.size() - 1); // a trailing slash
        }
        return out;
    }

    private String authenticate(ChannelHandlerContext ctx, FullHttpRequest request) {
        String header = request.headers().get(HttpHeaderNames.AUTHORIZATION);
        if (header == null || !header.regionMatches(true, 0, "Basic ", 0, 6)) {
            return null;
        }
        String decoded;
        try {
            decoded = new String(Base64.getDecoder().decode(header.substring(6).trim()), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return null;
        }
        int colon = decoded.indexOf(':');
        if (colon < 0) {
            return null;
        }
        String user = decoded.substring(0, colon);
        try {
            return authenticator.login(
                    user, decoded.substring(colon + 1), ctx.channel().remoteAddress());
        } catch (Authenticator.LoginRefused e) {
            LOG.warn("management API login refused from {}: {}", ctx.channel().remoteAddress(), e.logText());
            return null;
        }
    }

    private static FullHttpResponse answer(ManagementApi.Response response) {
        FullHttpResponse http;
        if (response.body() == null) {
            http = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(response.status()));
        } else {
            http = json(response.status(), response.body());
        }
        if (response.location() != null) {
            http.headers().set(HttpHeaderNames.LOCATION, response.location());
        }
        return http;
    }

    static FullHttpResponse json(int status, Object body) {
        byte[] bytes;
        try {
            bytes = JSON.writeValueAsBytes(body);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write JSON", e);
        }
        FullHttpResponse http = new DefaultFullHttpResponse(
                HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(status), Unpooled.wrappedBuffer(bytes));
        http.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json");
        return http;
    }

    static FullHttpResponse error(int status, String error, String reason) {
        return json(status, Map.of("error", error, "reason", reason == null ? "" : reason));
    }

    private static void write(ChannelHandlerContext ctx, FullHttpResponse response, boolean keepAlive) {
        response.headers()
                .set(HttpHeaderNames.CONTENT_LENGTH, response.content().readableBytes());
        response.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-cache");
        if (keepAlive) {
            response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
            ctx.writeAndFlush(response);
        } else {
            ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        LOG.debug("management HTTP connection {} failed: {}", ctx.channel().remoteAddress(), cause.toString());
        ctx.close();
    }
}
