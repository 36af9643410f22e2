package org.autoglm.node.api;

import java.util.Map;

/**
 * A failure the client sees, in OpenAI's shape: {@code {"error":{"message","type","param","code"}}}. Thrown
 * anywhere below a route handler; {@link ErrorResponses} turns it into the response. The message says what
 * was wrong and what to do; it never carries a stack trace.
 */
public final class ApiError extends RuntimeException {

    private final int status;
    private final String type;
    private final String param;
    private final String code;
    private final Map<String, String> headers;

    public ApiError(int status, String type, String param, String code, String message, Map<String, String> headers) {
        super(message, null, false, false);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
        this.headers = headers == null ? Map.of() : Map.copyOf(headers);
    }

    /** 400: a parameter is missing, of the wrong type or out of range; {@code param} names it. */
    public static ApiError invalid(String param, String message) {
        return new ApiError(400, "invalid_request_error", param, "invalid_value", message, null);
    }

    /** 400: the body is not JSON (or not UTF-8, or too deep). */
    public static ApiError malformed(String message) {
        return new ApiError(400, "invalid_request_error", null, "invalid_json", message, null);
    }

    /** 400 with code {@code content_filtered}: a plugin refused the content. */
    public static ApiError contentFiltered(String message) {
        return new ApiError(400, "invalid_request_error", null, "content_filtered", message, null);
    }

    public static ApiError unauthorized(String message) {
        return new ApiError(401, "authentication_error", null, "invalid_token", message,
                Map.of("WWW-Authenticate", "Bearer"));
    }

    public static ApiError forbidden(String message) {
        return new ApiError(403, "permission_error", null, "forbidden", message, null);
    }

    public static ApiError notFound(String param, String code, String message) {
        return new ApiError(404, "not_found_error", param, code, message, null);
    }

    /** 408: the client sent its request too slowly; the connection is closed. */
    public static ApiError timeout(String message) {
        return new ApiError(408, "invalid_request_error", null, "request_timeout", message, Map.of("Connection", "close"));
    }

    /** 507: the node cannot store new data now (its grid memory is nearly full); existing data still works. */
    public static ApiError insufficientStorage(String message) {
        return new ApiError(507, "server_error", null, "insufficient_storage", message, null);
    }

    public static ApiError tooLarge(long limit) {
        return new ApiError(413, "invalid_request_error", null, "request_too_large",
                "Request body is larger than " + limit + " bytes, the limit of this node (--max-request-bytes); "
                        + "send a shorter prompt.", null);
    }

    /** 429 with {@code Retry-After}: the engine's waiting queue is full. */
    public static ApiError overloaded(String message, int retryAfterSeconds) {
        return new ApiError(429, "rate_limit_error", null, "overloaded", message,
                Map.of("Retry-After", Integer.toString(retryAfterSeconds)));
    }

    /** 429 without {@code Retry-After}: the caller holds as many sessions as it may (retrying soon will not help). */
    public static ApiError tooManySessions(String message) {
        return new ApiError(429, "rate_limit_error", null, "too_many_sessions", message, null);
    }

    /** 503: loading, draining, or failed to load. */
    public static ApiError unavailable(String message) {
        return new ApiError(503, "service_unavailable", null, "unavailable", message, Map.of("Retry-After", "5"));
    }

    /** 500 for a failure inside the node; the message says what failed, never how (no stack trace). */
    public static ApiError server(String message) {
        return new ApiError(500, "server_error", null, "internal_error", message, null);
    }

    public int status() {
        return status;
    }

    public String type() {
        return type;
    }

    public String param() {
        return param;
    }

    public String code() {
        return code;
    }

    public Map<String, String> headers() {
        return headers;
    }
}
