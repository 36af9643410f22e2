package org.autoglm.node.telemetry;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One server span per HTTP request, whatever its route and answer (a 400 or a 404 too), continuing the client's W3C
 * {@code traceparent} when it sends one, with OpenTelemetry's HTTP attributes ({@code http.request.method},
 * {@code url.path}, {@code http.route}, {@code http.response.status_code}). An inference request adds the GenAI ones
 * ({@code gen_ai.operation.name}, {@code gen_ai.request.model}, usage, finish reasons) and child spans for queueing,
 * prefill and decode, added when it ends (their boundaries are only known then).
 */
public final class RequestTracing {

    private static final W3CTraceContextPropagator W3C = W3CTraceContextPropagator.getInstance();
    private static final TextMapGetter<Map<String, String>> MAP_GETTER = new TextMapGetter<>() {
        @Override
        public Iterable<String> keys(Map<String, String> carrier) {
            return carrier.keySet();
        }

        @Override
        public String get(Map<String, String> carrier, String key) {
            return carrier == null ? null : carrier.get(key);
        }
    };

    private final Tracer tracer;

    RequestTracing(Tracer tracer) {
        this.tracer = tracer;
    }

    /**
     * Starts an HTTP request's span, named by its method until {@link RequestSpan#route} names the route; a malformed
     * {@code traceparent} is ignored (a new trace starts).
     */
    public RequestSpan start(String method, String path, String traceparent, String xRequestId) {
        Context parent = Context.root();
        if (traceparent != null) {
            parent = W3C.extract(parent, Map.of("traceparent", traceparent), MAP_GETTER);
        }
        Span span = tracer.spanBuilder(method)
                .setParent(parent)
                .setSpanKind(SpanKind.SERVER)
                .setAttribute("http.request.method", method)
                .setAttribute("url.path", path)
                .setAttribute(AttributeKey.stringArrayKey("http.response.header.x-request-id"), List.of(xRequestId))
                .startSpan();
        return new RequestSpan(span, method);
    }

    /** A request in flight: call the moments as they happen, then {@link #end}. */
    public final class RequestSpan {
        private final Span span;
        private final String method;
        private volatile Instant submitted;
        private volatile Instant scheduled;
        private volatile Instant firstToken;
        private volatile boolean failed;

        private RequestSpan(Span span, String method) {
            this.span = span;
            this.method = method;
        }

        /** The matched route ({@code /v1/sessions/{id}}): the span is then called "METHOD route". */
        public void route(String route) {
            span.setAttribute("http.route", route);
            span.updateName(method + " " + route);
        }

        /**
         * An inference request: GenAI's operation ({@code chat}, {@code text_completion}) and the model asked for,
         * known as soon as the body is read, so they are there when it is refused too.
         */
        public void inference(String operation, String requestModel) {
            span.setAttribute("gen_ai.operation.name", operation);
            if (requestModel != null) {
                span.setAttribute("gen_ai.request.model", requestModel);
            }
        }

        public void requestId(String id) {
            span.setAttribute("autoglm.request_id", id);
        }

        /** The traceparent to hand on to the engine and peers: this span as the parent. */
        public String traceparent() {
            Map<String, String> carrier = new HashMap<>();
            W3C.inject(Context.root().with(span), carrier, Map::put);
            return carrier.get("traceparent");
        }

        public String traceId() {
            return span.getSpanContext().getTraceId();
        }

        public void submitted(Instant at) {
            submitted = at;
        }

        /**
         * When the engine started the prefill, if it tells us (the earliest of several choices counts); otherwise
         * queueing ends at the first token. May be called from engine threads.
         */
        public synchronized void scheduled(Instant at) {
            if (scheduled == null || at.isBefore(scheduled)) {
                scheduled = at;
            }
        }

        /** When the first token of any choice was produced. */
        public synchronized void firstToken(Instant at) {
            if (firstToken == null || at.isBefore(firstToken)) {
                firstToken = at;
            }
        }

        /** An inference request's outcome: usage, finish reasons, phase spans; {@link #end} follows. */
        public void finish(Instant at, List<String> finishReasons, int promptTokens, int completionTokens,
                String error) {
            Context parent = Context.root().with(span);
            if (submitted != null) {
                Instant first = firstToken != null ? firstToken : at;
                Instant prefillStart = scheduled != null && !scheduled.isAfter(first) ? scheduled : first;
                child(parent, "queue", submitted, prefillStart);
                child(parent, "prefill", prefillStart, first);
                if (firstToken != null) {
                    child(parent, "decode", firstToken, at);
                }
            }
            span.setAttribute(AttributeKey.stringArrayKey("gen_ai.response.finish_reasons"), finishReasons);
            span.setAttribute("gen_ai.usage.input_tokens", promptTokens);
            span.setAttribute("gen_ai.usage.output_tokens", completionTokens);
            if (error != null) {
                failed = true;
                span.setStatus(StatusCode.ERROR, error);
            }
        }

        /** The response went out with {@code status}: a 5xx marks the span failed (HTTP server conventions). */
        public void end(int status) {
            span.setAttribute("http.response.status_code", status);
            if (status >= 400) {
                span.setAttribute("error.type", Integer.toString(status));
            }
            if (status >= 500 && !failed) {
                span.setStatus(StatusCode.ERROR);
            }
            span.end();
        }

        private void child(Context parent, String name, Instant start, Instant end) {
            tracer.spanBuilder(name).setParent(parent).setStartTimestamp(start).startSpan()
                    .end(end.isBefore(start) ? start : end);
        }
    }

}
