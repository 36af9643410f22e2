package org.autoglm.node.telemetry;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.metrics.DoubleHistogram;
import io.opentelemetry.api.metrics.LongCounter;
import io.opentelemetry.api.metrics.Meter;
import java.time.Duration;
import java.util.List;

/**
 * The serving metrics, named after vLLM's {@code vllm:*} under our prefix ({@code autoglm:}), each with a
 * {@code model_name} label. Token counts and latencies are recorded by the API as it streams; the load
 * gauges are read from the engine at scrape time.
 */
public final class RequestMetrics {

    static final AttributeKey<String> MODEL_NAME = AttributeKey.stringKey("model_name");
    static final AttributeKey<String> FINISHED_REASON = AttributeKey.stringKey("finished_reason");

    private static final List<Double> LATENCY_BUCKETS = List.of(0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1,
            0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0);

    private final Attributes model;
    private final LongCounter promptTokens;
    private final LongCounter generationTokens;
    private final LongCounter requestSuccess;
    private final DoubleHistogram timeToFirstToken;
    private final DoubleHistogram interTokenLatency;
    private final DoubleHistogram e2eLatency;
    private final DoubleHistogram queueTime;
    private final LatencyWindow recent = new LatencyWindow();

    RequestMetrics(Meter meter, String modelName, EngineLoad.Source engine) {
        this.model = Attributes.of(MODEL_NAME, modelName);
        promptTokens = meter.counterBuilder("autoglm.prompt_tokens").setUnit("1")
                .setDescription("Prompt tokens processed.").build();
        generationTokens = meter.counterBuilder("autoglm.generation_tokens").setUnit("1")
                .setDescription("Tokens generated.").build();
        requestSuccess = meter.counterBuilder("autoglm.request_success").setUnit("1")
                .setDescription("Finished requests by finish reason.").build();
        timeToFirstToken = seconds(meter, "autoglm.time_to_first_token", "Time from receipt to the first token.");
        interTokenLatency = seconds(meter, "autoglm.inter_token_latency", "Time between successive output deltas.");
        e2eLatency = seconds(meter, "autoglm.e2e_request_latency", "Time from receipt to the last token.");
        queueTime = seconds(meter, "autoglm.request_queue_time", "Time a request waited before its prefill.");

        meter.gaugeBuilder("autoglm.num_requests_running").ofLongs().setUnit("1")
                .setDescription("Sequences in the running batch.")
                .buildWithCallback(m -> m.record(engine.load().running(), model));
        meter.gaugeBuilder("autoglm.num_requests_waiting").ofLongs().setUnit("1")
                .setDescription("Requests waiting to be scheduled.")
                .buildWithCallback(m -> m.record(engine.load().waiting(), model));
        meter.gaugeBuilder("autoglm.kv_cache_usage_perc").setUnit("1")
                .setDescription("Fraction of KV-cache blocks in use (0..1).")
                .buildWithCallback(m -> m.record(engine.load().kvCacheUsage(), model));
        meter.counterBuilder("autoglm.prefix_cache_queries").setUnit("1")
                .setDescription("Prompt tokens looked up in the prefix cache.")
                .buildWithCallback(m -> m.record(engine.load().prefixQueries(), model));
        meter.counterBuilder("autoglm.prefix_cache_hits").setUnit("1")
                .setDescription("Prompt tokens found in the prefix cache.")
                .buildWithCallback(m -> m.record(engine.load().prefixHits(), model));
    }

    private static DoubleHistogram seconds(Meter meter, String name, String description) {
        return meter.histogramBuilder(name).setUnit("s").setDescription(description)
                .setExplicitBucketBoundariesAdvice(LATENCY_BUCKETS).build();
    }

    public void firstToken(Duration sinceReceipt) {
        timeToFirstToken.record(secondsOf(sinceReceipt), model);
        recent.firstToken(sinceReceipt.toNanos() / 1e6);
    }

    public void interToken(Duration gap) {
        interTokenLatency.record(secondsOf(gap), model);
        recent.interToken(gap.toNanos() / 1e6);
    }

    /** The last seconds' latencies, for the live console. */
    public LatencyWindow recent() {
        return recent;
    }

    public void queued(Duration waited) {
        queueTime.record(secondsOf(waited), model);
    }

    /** A choice finished: its tokens and why it stopped ({@code stop}, {@code length}, ...). */
    public void finished(String finishReason, int prompt, int generated, Duration sinceReceipt) {
        promptTokens.add(prompt, model);
        generationTokens.add(generated, model);
        requestSuccess.add(1, model.toBuilder().put(FINISHED_REASON, finishReason).build());
        e2eLatency.record(secondsOf(sinceReceipt), model);
    }

    private static double secondsOf(Duration d) {
        return d.toNanos() / 1e9;
    }
}
