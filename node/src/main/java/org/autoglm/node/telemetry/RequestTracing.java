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
 * One span per request, continuing the client's W3C {@code traceparent} when it sends one, with child spans
 * for queueing, prefill and decode added when the request ends (their boundaries are only known then).
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

    /** Starts the request's span; a malformed {@code traceparent} is ignored (a new trace starts). */
    public RequestSpan start(String route, String requestId, String traceparent) {
        Context parent = Context.root();
        if (traceparent != null) {
            parent = W3C.extract(parent, Map.of("traceparent", traceparent), MAP_GETTER);
        }
        Span span = tracer.spanBuilder("POST " + route)
                .setParent(parent)
                .setSpanKind(SpanKind.SERVER)
                .setAttribute("http.route", route)
                .setAttribute("autoglm.request_id", requestId)
                .startSpan();
        return new RequestSpan(span);
    }

    /** A request in flight: call the moments as they happen, then {@link #end}. */
    public final class RequestSpan {
        private final Span span;
        private volatile Instant submitted;
        private volatile Instant scheduled;
        private volatile Instant firstToken;

        private RequestSpan(Span span) {
            this.span = span;
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

        public void end(Instant at, List<String> finishReasons, int promptTokens, int completionTokens,
                int status, String error) {
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
            span.setAttribute("http.response.status_code", status);
            if (error != null) {
                span.setStatus(StatusCode.ERROR, error);
            }
            span.end(at);
        }

        private void child(Context parent, String name, Instant start, Instant end) {
            tracer.spanBuilder(name).setParent(parent).setStartTimestamp(start).startSpan()
                    .end(end.isBefore(start) ? start : end);
        }
    }

}
