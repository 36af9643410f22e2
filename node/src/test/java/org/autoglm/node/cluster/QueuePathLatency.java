package org.autoglm.node.cluster;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.autoglm.gossip.Cluster;
import org.autoglm.gossip.registry.NodeInfo;
import org.autoglm.gossip.registry.NodeLoad;
import org.autoglm.models.djl.DjlBackend;
import org.autoglm.models.sampling.SamplingParams;
import org.autoglm.node.engine.Completion;
import org.autoglm.node.engine.Engine;
import org.autoglm.node.engine.EngineOptions;
import org.autoglm.node.engine.GenerationListener;
import org.autoglm.node.engine.GenerationRequest;
import org.autoglm.node.engine.InferenceService;
import org.autoglm.node.engine.TextStream;
import org.autoglm.node.engine.TokenDelta;
import org.autoglm.node.engine.runner.SamplerFactory;

/**
 * A test-scoped tool, not a test: time to first token of the same request on one node, straight into the engine
 * versus through the grid's queue path (enqueue, placement, claim, relay), to show what the queue path costs.
 *
 * <pre>java -cp (node test classpath) org.autoglm.node.cluster.QueuePathLatency MODEL_DIR [REQUESTS]</pre>
 */
public final class QueuePathLatency {

    public static void main(String[] args) throws Exception {
        Path model = Path.of(args[0]);
        int requests = args.length > 1 ? Integer.parseInt(args[1]) : 200;
        try (DjlBackend backend = DjlBackend.load(model);
             Engine engine = new Engine(backend, EngineOptions.create(o -> {
                 o.blockSize = 4;
                 o.numKvBlocks = 256;
             }), TextStream.Factory.NONE, SamplerFactory.DEFAULT)) {
            NodeInfo info = new NodeInfo(null, "solo", "m", "h", List.of(), "djl", "CPU", 8, 512, "http://solo");
            try (Cluster cluster = Cluster.start(c -> {
                c.nodeName = "solo";
                c.gridPort = 27760;
                c.failover.sweepInterval = Duration.ofMillis(250);
            }, info, () -> NodeLoad.IDLE, new EngineExecutor(engine))) {
                while (!cluster.lease().isLeader()) {
                    Thread.onSpinWait();
                }
                ClusterInferenceService grid = new ClusterInferenceService(cluster, "m", 512, 1024);
                for (int warm = 0; warm < 50; warm++) {
                    ttft(engine, "w-e" + warm);
                    ttft(grid, "w-g" + warm);
                }
                double[] direct = new double[requests];
                double[] queued = new double[requests];
                for (int i = 0; i < requests; i++) {
                    direct[i] = ttft(engine, "e" + i);
                    queued[i] = ttft(grid, "g" + i);
                }
                Arrays.sort(direct);
                Arrays.sort(queued);
                System.out.printf("TTFT over %d requests: engine p50 %.2f ms p99 %.2f ms | grid queue path p50 %.2f ms p99 %.2f ms%n",
                        requests, direct[requests / 2], direct[requests * 99 / 100], queued[requests / 2],
                        queued[requests * 99 / 100]);
            }
        }
    }

    private static double ttft(InferenceService service, String id) throws Exception {
        CompletableFuture<Long> first = new CompletableFuture<>();
        CompletableFuture<Completion> done = new CompletableFuture<>();
        long start = System.nanoTime();
        service.submit(GenerationRequest.of(id, new int[] {10, 11, 12, 13},
                new SamplingParams(0, 1, 0, 0, 1, 0, 0, null, 2, List.of(), true, -1)), new GenerationListener() {
            @Override
            public void onDelta(TokenDelta delta) {
                first.complete(System.nanoTime());
            }

            @Override
            public void onFinish(Completion completion) {
                done.complete(completion);
            }
        });
        long at = first.get(10, TimeUnit.SECONDS);
        done.get(10, TimeUnit.SECONDS);
        return (at - start) / 1e6;
    }
}
