package org.autoglm.node.telemetry;

import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.exporter.prometheus.PrometheusMetricReader;
import io.opentelemetry.sdk.metrics.SdkMeterProvider;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.SdkTracerProviderBuilder;
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import java.net.URI;
import java.util.concurrent.TimeUnit;

/**
 * The node's OpenTelemetry SDK: metrics read by a Prometheus reader and served as text at
 * {@code GET /metrics}; traces exported over OTLP/HTTP only when an endpoint is given (spans are still made,
 * so W3C trace context flows through, but go nowhere).
 */
public final class Telemetry implements AutoCloseable {

    private final SdkMeterProvider meters;
    private final PrometheusMetricReader prometheus;
    private final SdkTracerProvider tracers;
    private final RequestMetrics metrics;
    private final RequestTracing tracing;
    private final MetricsExposition exposition;

    /**
     * @param modelName    the {@code model_name} label
     * @param engine       load figures read at scrape time
     * @param otlpEndpoint e.g. {@code http://collector:4318}, or null for no trace export
     * @param extraSpans   another span exporter (tests), or null
     */
    public Telemetry(String modelName, EngineLoad.Source engine, String otlpEndpoint, SpanExporter extraSpans) {
        Resource resource = Resource.getDefault().merge(Resource.create(Attributes.builder()
                .put("service.name", "autoglm-node").build()));
        prometheus = PrometheusMetricReader.builder().setOtelScopeLabelsEnabled(false)
                .setTargetInfoMetricEnabled(false).build();
        meters = SdkMeterProvider.builder().setResource(resource).registerMetricReader(prometheus).build();
        SdkTracerProviderBuilder tb = SdkTracerProvider.builder().setResource(resource);
        if (otlpEndpoint != null) {
            tb.addSpanProcessor(BatchSpanProcessor.builder(OtlpHttpSpanExporter.builder()
                    .setEndpoint(tracesUrl(otlpEndpoint)).build()).build());
        }
        if (extraSpans != null) {
            tb.addSpanProcessor(SimpleSpanProcessor.create(extraSpans));
        }
        tracers = tb.build();
        metrics = new RequestMetrics(meters.get("org.autoglm.node"), modelName, engine);
        tracing = new RequestTracing(tracers.get("org.autoglm.node"));
        exposition = new MetricsExposition(prometheus::collect);
    }

    public RequestMetrics metrics() {
        return metrics;
    }

    /** Where other parts of the node register their series (the cluster's, for instance). */
    public io.opentelemetry.api.metrics.Meter meter(String scope) {
        return meters.get(scope);
    }

    public RequestTracing tracing() {
        return tracing;
    }

    /**
     * Every metric of this node (ours, the JVM's, the process's): OpenMetrics when {@code accept} asks for it,
     * else the Prometheus text format.
     */
    public MetricsExposition.Scrape scrape(String accept) {
        return exposition.scrape(accept);
    }

    /** {@link #scrape(String)} in the Prometheus text format. */
    public String scrape() {
        return exposition.scrape(null).body();
    }

    /** OTLP/HTTP sends traces to {@code /v1/traces}; accept the collector's base URL as well. */
    static String tracesUrl(String endpoint) {
        URI uri = URI.create(endpoint);
        if (uri.getScheme() == null || uri.getHost() == null) {
            throw new IllegalArgumentException("--otlp-endpoint must be a URL such as http://collector:4318, got '"
                    + endpoint + "'");
        }
        String path = uri.getPath();
        return path == null || path.isEmpty() || path.equals("/") ? endpoint.replaceAll("/$", "") + "/v1/traces"
                : endpoint;
    }

    @Override
    public void close() {
        tracers.shutdown().join(5, TimeUnit.SECONDS);
        meters.shutdown().join(5, TimeUnit.SECONDS);
    }
}
