package org.autoglm.node.telemetry;

import io.prometheus.metrics.config.EscapingScheme;
import io.prometheus.metrics.expositionformats.ExpositionFormatWriter;
import io.prometheus.metrics.expositionformats.OpenMetricsTextFormatWriter;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.MetricMetadata;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.function.Supplier;

/**
 * What {@code GET /metrics} answers: our OpenTelemetry instruments, the JVM's and the process's series, in the
 * Prometheus text format, or OpenMetrics when the scraper's {@code Accept} asks for it. OpenTelemetry instrument names
 * cannot hold a colon, so our {@code autoglm.} prefix (read back as {@code autoglm_}) is renamed {@code autoglm:},
 * the convention of vLLM's {@code vllm:} names.
 */
public final class MetricsExposition {

    private static final String OTEL_PREFIX = "autoglm_";
    private static final String PREFIX = "autoglm:";
    private static final ExpositionFormatWriter OPEN_METRICS = OpenMetricsTextFormatWriter.create();
    private static final ExpositionFormatWriter PROMETHEUS = PrometheusTextFormatWriter.create();

    /** A scrape: the body and its content type. */
    public record Scrape(String contentType, String body) {}

    private final Supplier<MetricSnapshots> ours;
    /** jvm_* and process_* (memory, GC, threads, classes, CPU seconds, resident memory, open fds). */
    private final PrometheusRegistry runtime = new PrometheusRegistry();

    MetricsExposition(Supplier<MetricSnapshots> ours) {
        this.ours = ours;
        JvmMetrics.builder().register(runtime);
    }

    Scrape scrape(String accept) {
        MetricSnapshots.Builder all = MetricSnapshots.builder();
        for (MetricSnapshot s : ours.get()) {
            all.metricSnapshot(renamed(s));
        }
        for (MetricSnapshot s : runtime.scrape()) {
            all.metricSnapshot(s);
        }
        ExpositionFormatWriter writer = accept != null && OPEN_METRICS.accepts(accept) ? OPEN_METRICS : PROMETHEUS;
        ByteArrayOutputStream out = new ByteArrayOutputStream(16 * 1024);
        try {
            writer.write(out, all.build(), EscapingScheme.ALLOW_UTF8);
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a byte array does not fail
        }
        return new Scrape(writer.getContentType(), out.toString(StandardCharsets.UTF_8));
    }

    private static MetricSnapshot renamed(MetricSnapshot s) {
        String name = s.getMetadata().getPrometheusName();
        if (!name.startsWith(OTEL_PREFIX)) {
            return s;
        }
        MetricMetadata m = new MetricMetadata(PREFIX + name.substring(OTEL_PREFIX.length()), s.getMetadata().getHelp(),
                s.getMetadata().getUnit());
        if (s instanceof CounterSnapshot c) {
            return new CounterSnapshot(m, c.getDataPoints());
        }
        if (s instanceof GaugeSnapshot g) {
            return new GaugeSnapshot(m, g.getDataPoints());
        }
        if (s instanceof HistogramSnapshot h) {
            return new HistogramSnapshot(m, h.getDataPoints());
        }
        return s; // our instruments make no other kinds
    }
}
