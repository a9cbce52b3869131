package dev.courier.server.management;

/** An error answer of the management API: an HTTP status and RabbitMQ's {@code {error, reason}} body. */
final class ApiException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int status;
    private final String error;

    ApiException(int status, String error, String reason) {
        super(reason, null, false, false);
        this.status = status;
        this.error = error;
    }

    static ApiException notFound(String reason) {
        return new ApiException(404, "Object Not Found", reason);
    }

    static ApiException badRequest(String reason) {
        return new ApiException(400, "bad_request", reason);
    }

    static ApiException methodNotAllowed(String method, String path) {
        return new ApiException(405, "method_not_allowed", method + " is not allowed on " + path);
    }

    int status() {
        return status;
    }

    String error() {
        return error;
    }
}
