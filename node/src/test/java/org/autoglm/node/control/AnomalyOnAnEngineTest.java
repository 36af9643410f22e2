package org.autoglm.node.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.autoglm.models.sampling.SamplingParams;
import org.autoglm.node.engine.Completion;
import org.autoglm.node.engine.Engine;
import org.autoglm.node.engine.EngineOptions;
import org.autoglm.node.engine.GenerationListener;
import org.autoglm.node.engine.GenerationRequest;
import org.autoglm.node.engine.PagedTokenBackend;
import org.autoglm.node.engine.runner.SamplerFactory;
import org.autoglm.node.engine.TextStream;
import org.autoglm.node.engine.TokenDelta;
import org.junit.jupiter.api.Test;

/**
 * The detector on a real engine under steady traffic, its figures measured by the engine, not fed: the node learns its
 * baselines, then its device becomes twenty times slower (each forward takes 40 ms instead of 2: a busy build machine's jitter on a 2 ms
 * sleep reaches several times that), and after N intervals it
 * is anomalous, naming the step time; back to normal speed, N normal intervals clear it.
 */
class AnomalyOnAnEngineTest {

    @Test
    void aNodeWhoseStepsSlowDownIsFlaggedAndClearedWhenItRecovers() throws Exception {
        PagedTokenBackend backend = new PagedTokenBackend(64, 4096);
        backend.forwardDelayMillis = 2;
        AnomalyDetector detector = new AnomalyDetector(3, 200);
        AtomicBoolean running = new AtomicBoolean(true);
        try (Engine engine = new Engine(backend, EngineOptions.defaults(), TextStream.Factory.NONE,
                SamplerFactory.DEFAULT)) {
            engine.stats().addObserver(detector);
            Thread traffic = new Thread(() -> {
                for (int i = 0; running.get(); i++) { // one request at a time: every interval at the same load level
                    try {
                        generate(engine, "r" + i);
                    } catch (Exception e) {
                        return;
                    }
                }
            }, "anomaly-traffic");
            traffic.setDaemon(true);
            traffic.start();
            java.util.concurrent.ScheduledExecutorService ticker = java.util.concurrent.Executors
                    .newSingleThreadScheduledExecutor();
            ticker.scheduleAtFixedRate(() -> detector.tick(null, "n"), 20, 20, TimeUnit.MILLISECONDS);
            try {
                Thread.sleep(4_000); // 20 intervals: past the 10 a baseline needs before it judges
                await().atMost(Duration.ofSeconds(20)).until(() -> !detector.anomalous()); // a spike of a busy machine
                backend.forwardDelayMillis = 40;
                await().atMost(Duration.ofSeconds(30)).until(detector::anomalous);
                assertThat(detector.reason()).contains("step_ms");
                backend.forwardDelayMillis = 2;
                await().atMost(Duration.ofSeconds(30)).until(() -> !detector.anomalous());
                assertThat(detector.reason()).isNull();
            } finally {
                ticker.shutdownNow();
                running.set(false);
                traffic.join(10_000);
            }
        }
    }

    private static void generate(Engine engine, String id) throws Exception {
        CompletableFuture<Completion> done = new CompletableFuture<>();
        engine.submit(GenerationRequest.of(id, new int[] {1, 2, 3, 4}, new SamplingParams(0, 1, 0, 0, 1, 0, 0, null, 20,
                List.of(), true, -1)), new GenerationListener() {
            @Override
            public void onDelta(TokenDelta delta) {}

            @Override
            public void onFinish(Completion completion) {
                done.complete(completion);
            }
        });
        done.get(30, TimeUnit.SECONDS);
    }
}
