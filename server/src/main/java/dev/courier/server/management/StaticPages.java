package dev.courier.server.management;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The web page: plain HTML, CSS and JavaScript files packaged in the jar under
 * {@code dev/courier/server/management/www/}, served as they are (no build step). They call the
 * JSON API with the browser's basic-auth credentials.
 */
final class StaticPages {
    private static final String ROOT = "www/";
    private static final Map<String, String> TYPES = Map.of(
            "html", "text/html; charset=utf-8",
            "css", "text/css; charset=utf-8",
            "js", "text/javascript; charset=utf-8",
            "svg", "image/svg+xml",
            "ico", "image/x-icon");

    private final Map<String, byte[]> cache = new ConcurrentHashMap<>();

    FullHttpResponse serve(String method, String path) {
        if (!method.equals("GET") && !method.equals("HEAD")) {
            return ManagementHttpHandler.error(405, "method_not_allowed", method + " is not allowed on " + path);
        }
        String name = path.equals("/") ? "index.html" : path.substring(1);
        if (name.contains("..") || name.contains("//") || name.contains("\\")) {
            return ManagementHttpHandler.error(404, "not_found", "Not Found");
        }
        byte[] content = cache.get(name);
        if (content == null) {
            content = load(name);
            if (content.length > 0) {
                cache.put(name, content); // only files that exist, so random paths cannot grow it
            }
        }
        if (content.length == 0) {
            return ManagementHttpHandler.error(404, "not_found", "Not Found");
        }
        FullHttpResponse http = new DefaultFullHttpResponse(
                HttpVersion.HTTP_1_1,
                HttpResponseStatus.OK,
                method.equals("HEAD") ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(content));
        String extension = name.substring(name.lastIndexOf('.') + 1);
        http.headers().set(HttpHeaderNames.CONTENT_TYPE, TYPES.getOrDefault(extension, "application/octet-stream"));
        return http;
    }

    /** The resource's bytes, or an empty array when there is none. */
    private static byte[] load(String name) {
        try (InputStream in = StaticPages.class.getResourceAsStream(ROOT + name)) {
            return in == null ? new byte[0] : in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
