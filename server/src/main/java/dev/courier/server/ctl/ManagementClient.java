package dev.courier.server.ctl;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;

/** A small client of Courier's (and RabbitMQ's) management API, for {@code courier ctl}. */
final class ManagementClient {
    static final ObjectMapper JSON = new ObjectMapper();

    /** The API answered with an error status; the message is its {@code reason}. */
    static final class ApiError extends Exception {
        private static final long serialVersionUID = 1L;
        private final int status;

        ApiError(int status, String reason) {
            super(reason, null, false, false);
            this.status = status;
        }

        int status() {
            return status;
        }
    }

    /** The API could not be reached at all. */
    static final class Unreachable extends Exception {
        private static final long serialVersionUID = 1L;

        Unreachable(String message) {
            super(message, null, false, false);
        }
    }

    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final String base;
    private final String authorization;

    ManagementClient(String url, String user, String password) {
        this.base = url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
        this.authorization =
                "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    /** A path segment, percent-encoded as the API expects ({@code /} is {@code %2F}). */
    static String segment(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8).replace("+", "%20");
    }

    JsonNode get(String path) throws ApiError, Unreachable {
        return send("GET", path, null);
    }

    JsonNode send(String method, String path, Object body) throws ApiError, Unreachable {
        HttpRequest.Builder request;
        try {
            request = HttpRequest.newBuilder(URI.create(base + path))
                    .timeout(Duration.ofSeconds(30))
                    .header("Authorization", authorization)
                    .header("Content-Type", "application/json")
                    .method(
                            method,
                            body == null
                                    ? HttpRequest.BodyPublishers.noBody()
                                    : HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body)));
        } catch (IllegalArgumentException e) {
            throw new Unreachable("invalid URL " + base + ": " + e.getMessage());
        } catch (IOException e) {
            throw new IllegalStateException("cannot write JSON", e);
        }
        HttpResponse<byte[]> response;
        try {
            response = http.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
        } catch (ConnectException e) {
            throw new Unreachable("cannot reach the management API at " + base + ": connection refused");
        } catch (IOException e) {
            throw new Unreachable("cannot reach the management API at " + base + ": " + e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Unreachable("interrupted");
        }
        JsonNode json = null;
        if (response.body().length > 0) {
            try {
                json = JSON.readTree(response.body());
            } catch (IOException e) {
                if (response.statusCode() < 300) {
                    throw new ApiError(response.statusCode(), "the API answered something that is not JSON");
                }
            }
        }
        if (response.statusCode() >= 300) {
            String reason =
                    json != null && json.has("reason") ? json.get("reason").asText() : "HTTP " + response.statusCode();
            if (response.statusCode() == 401) {
                reason = unauthorised(reason);
            }
            throw new ApiError(response.statusCode(), reason);
        }
        return json;
    }

    /** The 401s the API gives, said in terms of what the user can do about them. */
    private static String unauthorised(String reason) {
        if (reason.equals("Not management user")) {
            return "this user may not use the management API: it needs the management, monitoring or"
                    + " administrator tag (add-user NAME --tags management)";
        }
        if (reason.equals("Login failed") || reason.startsWith("HTTP ")) {
            return "login failed (check --user and --password)";
        }
        return reason; // e.g. no access to the vhost or object the command names
    }
}
