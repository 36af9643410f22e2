package org.autoglm.node.telemetry;

import io.prometheus.metrics.model.snapshots.ClassicHistogramBuckets;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;

/**
 * Writes metric snapshots in the Prometheus text format 0.0.4. OpenTelemetry instrument names cannot hold
 * a colon, so our {@code autoglm.} prefix (exported as {@code autoglm_}) is written as {@code autoglm:},
 * the convention of vLLM's {@code vllm:} names.
 */
final class PrometheusText {

    static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
    private static final String OTEL_PREFIX = "autoglm_";
    private static final String PREFIX = "autoglm:";

    private PrometheusText() {}

    static String write(MetricSnapshots snapshots) {
        StringBuilder out = new StringBuilder(4096);
        for (MetricSnapshot s : snapshots) {
            String name = rename(s.getMetadata().getPrometheusName());
            if (s instanceof CounterSnapshot c) {
                header(out, name + "_total", s, "counter");
                for (CounterSnapshot.CounterDataPointSnapshot p : c.getDataPoints()) {
                    sample(out, name + "_total", p.getLabels(), null, p.getValue());
                }
            } else if (s instanceof GaugeSnapshot g) {
                header(out, name, s, "gauge");
                for (GaugeSnapshot.GaugeDataPointSnapshot p : g.getDataPoints()) {
                    sample(out, name, p.getLabels(), null, p.getValue());
                }
            } else if (s instanceof HistogramSnapshot h) {
                header(out, name, s, "histogram");
                for (HistogramSnapshot.HistogramDataPointSnapshot p : h.getDataPoints()) {
                    histogram(out, name, p);
                }
            }
            // Other kinds (info, summaries) are not produced by our instruments.
        }
        return out.toString();
    }

    private static void histogram(StringBuilder out, String name, HistogramSnapshot.HistogramDataPointSnapshot p) {
        ClassicHistogramBuckets buckets = p.getClassicBuckets();
        long cumulative = 0;
        for (int i = 0; i < buckets.size(); i++) {
            cumulative += buckets.getCount(i);
            sample(out, name + "_bucket", p.getLabels(), le(buckets.getUpperBound(i)), cumulative);
        }
        sample(out, name + "_count", p.getLabels(), null, p.getCount());
        sample(out, name + "_sum", p.getLabels(), null, p.getSum());
    }

    private static void header(StringBuilder out, String name, MetricSnapshot s, String type) {
        String help = s.getMetadata().getHelp();
        if (help != null) {
            out.append("# HELP ").append(name).append(' ').append(help.replace("\\", "\\\\").replace("\n", "\\n"))
                    .append('\n');
        }
        out.append("# TYPE ").append(name).append(' ').append(type).append('\n');
    }

    private static void sample(StringBuilder out, String name, Labels labels, String le, double value) {
        out.append(name);
        if (!labels.isEmpty() || le != null) {
            out.append('{');
            boolean first = true;
            for (int i = 0; i < labels.size(); i++) {
                if (!first) {
                    out.append(',');
                }
                first = false;
                out.append(labels.getPrometheusName(i)).append("=\"").append(escape(labels.getValue(i))).append('"');
            }
            if (le != null) {
                out.append(first ? "" : ",").append("le=\"").append(le).append('"');
            }
            out.append('}');
        }
        out.append(' ').append(number(value)).append('\n');
    }

    private static String rename(String prometheusName) {
        return prometheusName.startsWith(OTEL_PREFIX) ? PREFIX + prometheusName.substring(OTEL_PREFIX.length())
                : prometheusName;
    }

    private static String le(double bound) {
        return bound == Double.POSITIVE_INFINITY ? "+Inf" : number(bound);
    }

    private static String number(double v) {
        if (Double.isNaN(v)) {
            return "NaN";
        }
        if (Double.isInfinite(v)) {
            return v > 0 ? "+Inf" : "-Inf";
        }
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v);
    }

    private static String escape(String s) {
        return s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }
}
