package org.autoglm.node.api;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.autoglm.gossip.grid.GridUnavailable;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.handler.ErrorHandler;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every failure leaves the node as an OpenAI-shaped JSON error: ours ({@link ApiError}), Javalin's (unknown
 * route, wrong method), Jetty's (malformed HTTP, oversized headers) and unexpected exceptions, which are
 * logged here and answered with a plain 500 that reveals nothing of the code.
 */
final class ErrorResponses {

    private static final Logger log = LoggerFactory.getLogger(ErrorResponses.class);

    private ErrorResponses() {}

    /**
     * @param routes     "METHOD /path" of every route, for the 404 message
     * @param deadReason why this node's grid node is down, or null while it runs
     */
    static void install(Javalin app, List<String> routes, java.util.function.Supplier<String> deadReason) {
        app.exception(ApiError.class, (e, ctx) -> send(ctx, e));
        app.exception(HttpResponseException.class, (e, ctx) -> send(ctx, e.getStatus() == 404 ? noSuchRoute(routes)
                : fromStatus(e.getStatus(), e.getMessage())));
        app.exception(org.autoglm.node.session.StorageFullException.class,
                (e, ctx) -> send(ctx, ApiError.insufficientStorage(e.getMessage())));
        // Jetty's refusal to read a body it parses itself (a multipart upload): as JsonBody answers it.
        app.exception(org.eclipse.jetty.http.BadMessageException.class, (e, ctx) -> send(ctx, e.getCode() == 408
                ? ApiError.timeout("The request body arrived too slowly (" + e.getReason() + "; --min-request-data-rate).")
                : fromStatus(e.getCode(), "The request could not be read: " + e.getReason())));
        app.exception(Exception.class, (e, ctx) -> {
            ApiError unavailable = gridUnavailable(e, deadReason.get());
            if (unavailable != null) {
                log.debug("{} {} while the grid cannot answer here: {}", ctx.method(), ctx.path(), e.toString());
                send(ctx, unavailable);
                return;
            }
            if (e instanceof InterruptedException) { // the node is stopping: its request threads are interrupted
                log.debug("{} {} interrupted: the node is stopping", ctx.method(), ctx.path());
                send(ctx, ApiError.unavailable("This node is shutting down and stopped the request; send it again,"
                        + " to another node."));
                return;
            }
            log.error("Unexpected failure on {} {}", ctx.method(), ctx.path(), e);
            send(ctx, ApiError.server("The node failed to process this request; it has been logged."));
        });
        // Javalin sets 404 / 405 for unmatched routes without an exception on some paths.
        app.error(404, ctx -> {
            if (ctx.result() == null || ctx.result().isEmpty()) {
                send(ctx, noSuchRoute(routes));
            }
        });
        app.error(405, ctx -> {
            if (ctx.result() == null || ctx.result().isEmpty()) {
                send(ctx, fromStatus(405, null));
            }
        });
    }

    /**
     * 503 with {@code Retry-After} for a failure that says the grid cannot answer on this node now, in one place for
     * every route: its grid node is down (segmented or failed; it rejoins by itself), or the topology changed under
     * the request (a node left, the majority was lost). Null for any other failure.
     */
    static ApiError gridUnavailable(Exception e, String dead) {
        Throwable cause = GridUnavailable.find(e);
        if (dead == null && cause == null) {
            return null;
        }
        String why = dead != null ? "its grid node is down and it is rejoining the cluster"
                : "the cluster's topology changed under the request (" + cause.getClass().getSimpleName() + ")";
        return ApiError.unavailable("This node cannot reach the cluster right now: " + why + ". Retry in a few"
                + " seconds, or send the request to another node.");
    }

    static ObjectNode body(ApiError e) {
        ObjectNode root = JsonBody.MAPPER.createObjectNode();
        ObjectNode error = root.putObject("error");
        error.put("message", e.getMessage());
        error.put("type", e.type());
        if (e.param() != null) {
            error.put("param", e.param());
        } else {
            error.putNull("param");
        }
        if (e.code() != null) {
            error.put("code", e.code());
        } else {
            error.putNull("code");
        }
        return root;
    }

    static void send(Context ctx, ApiError e) {
        e.headers().forEach(ctx::header);
        ctx.status(e.status()).contentType("application/json").result(json(e));
    }

    private static String json(ApiError e) {
        try {
            return JsonBody.MAPPER.writeValueAsString(body(e));
        } catch (IOException impossible) {
            return "{\"error\":{\"message\":\"error\",\"type\":\"server_error\",\"param\":null,\"code\":null}}";
        }
    }

    /** 404 for a path no route matches, listing them all (generated, so it never falls behind the routes). */
    static ApiError noSuchRoute(List<String> routes) {
        return ApiError.notFound(null, "not_found", "No such route. Routes: " + String.join(", ", routes) + ".");
    }

    /** Our shape for a bare HTTP status raised outside our handlers. */
    static ApiError fromStatus(int status, String detail) {
        return switch (status) {
            case 404 -> ApiError.notFound(null, "not_found", "No such route; GET any unknown path for the list.");
            case 405 -> new ApiError(405, "invalid_request_error", null, "method_not_allowed",
                    "This route does not accept that HTTP method.", null);
            case 413 -> new ApiError(413, "invalid_request_error", null, "request_too_large",
                    "Request is too large.", null);
            case 431 -> new ApiError(431, "invalid_request_error", null, "headers_too_large",
                    "Request headers are too large.", null);
            default -> status >= 500
                    ? ApiError.server("The node failed to process this request.")
                    : new ApiError(status, "invalid_request_error", null, "bad_request",
                            detail == null || detail.isBlank() ? "Bad request." : "Bad request: " + detail, null);
        };
    }

    /** Jetty's own errors (bad request line, header overflow) in the same JSON shape, without HTML. */
    static final class JsonJettyErrors extends ErrorHandler {
        @Override
        public void handle(String target, Request baseRequest, HttpServletRequest request, HttpServletResponse response)
                throws IOException {
            ApiError e = fromStatus(response.getStatus(), null);
            byte[] bytes = json(e).getBytes(StandardCharsets.UTF_8);
            response.setContentType("application/json");
            response.setContentLength(bytes.length);
            response.getOutputStream().write(bytes);
            baseRequest.setHandled(true);
        }

        @Override
        public ByteBuffer badMessageError(int status, String reason, HttpFields.Mutable fields) {
            fields.put("Content-Type", "application/json");
            return ByteBuffer.wrap(json(fromStatus(status, reason)).getBytes(StandardCharsets.UTF_8));
        }
    }
}
