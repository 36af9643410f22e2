package org.autoglm.node.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.http.HttpClient;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.autoglm.gossip.Cluster;
import org.autoglm.gossip.dispatch.RequestExecutor;
import org.autoglm.gossip.grid.GridConfig;
import org.autoglm.gossip.queue.QueuedRequest;
import org.autoglm.gossip.registry.NodeInfo;
import org.autoglm.gossip.registry.NodeLoad;
import org.autoglm.node.cluster.ClusterInferenceService;
import org.autoglm.node.telemetry.Telemetry;
import org.junit.jupiter.api.Test;

/**
 * What a client sees when the node holding its connection is dropped by the grid and rejoins on a fresh grid node
 * while its request runs on another node: a 503 with {@code Retry-After} whose message says the node is rejoining and
 * to send the request again (what OpenAI clients retry by themselves), not a 500. And the request's work does not stay
 * behind: the node running it stops it and the cluster queue forgets it, so dead clients' work does not pile up.
 * Three real grid members on loopback (one runs requests that never end by themselves), real HTTP.
 */
class RejoinAnswersTest {

    /** This test's grid ports (communication: + 1000), moved by the suite's port offset where they fit. */
    private static final int PORT = port(29410);
    /** One token's payload as nodes send it to the client's node (the delta of the token, as JSON). */
    private static final byte[] TOKEN = "{\"tokenIds\":[7],\"text\":\"x\",\"logprobs\":[]}"
            .getBytes(java.nio.charset.StandardCharsets.UTF_8);

    @Test
    void aRequestWhoseNodeRejoinsIsA503ToSendAgain_andLeavesNoWorkBehind() throws Exception {
        List<String> started = new CopyOnWriteArrayList<>();
        List<String> stopped = new CopyOnWriteArrayList<>();
        java.util.concurrent.ScheduledExecutorService ticks = java.util.concurrent.Executors.newScheduledThreadPool(1);
        RequestExecutor forever = new RequestExecutor() {
            @Override
            public void start(QueuedRequest request, ExecutionSink sink) {
                started.add(request.id());
                // A token every 200 ms until stopped: output that cannot reach a client's node that left.
                java.util.concurrent.atomic.AtomicReference<java.util.concurrent.ScheduledFuture<?>> tick =
                        new java.util.concurrent.atomic.AtomicReference<>();
                tick.set(ticks.scheduleWithFixedDelay(() -> {
                    if (stopped.contains(request.id()) && tick.get() != null) {
                        tick.get().cancel(false);
                        return;
                    }
                    sink.tokens(new int[] {7}, TOKEN);
                }, 200, 200, java.util.concurrent.TimeUnit.MILLISECONDS));
            }

            @Override
            public void cancel(String requestId) {
                stopped.add(requestId);
            }
        };
        List<CompletableFuture<Cluster>> starting = List.of(
                CompletableFuture.supplyAsync(() -> Cluster.start(config("runner", PORT), info("runner", "m"),
                        () -> NodeLoad.IDLE, forever)),
                CompletableFuture.supplyAsync(() -> Cluster.start(config("bystander", PORT + 2), info("bystander", null),
                        () -> NodeLoad.IDLE)));
        Cluster entry = Cluster.start(config("entry", PORT + 1), info("entry", null), () -> NodeLoad.IDLE);
        Cluster exec = starting.get(0).join();
        Cluster bystander = starting.get(1).join();
        ScriptedEngine load = new ScriptedEngine();
        ServingState state = new ServingState();
        Telemetry telemetry = new Telemetry("m", state::load, null, null);
        ApiServer server = ApiServer.create(c -> {
            c.port = 0;
            c.deadReason = () -> entry.grid().running() ? null : "its grid node stopped and it is rejoining";
            c.state = state;
            c.telemetry = telemetry;
        }).start();
        try {
            await().atMost(Duration.ofSeconds(60)).until(() -> entry.lease().leader().isPresent()
                    && exec.registry().nodes().size() == 3);
            state.ready(new ServingState.Loaded(new CharModel("m", 4096),
                    new ClusterInferenceService(entry, "m", 4096, 8), load));
            Http http = new Http("http://127.0.0.1:" + server.port(), HttpClient.newBuilder()
                    .version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build());
            CompletableFuture<Http.Response> answer = CompletableFuture.supplyAsync(() -> http.post("/v1/completions",
                    "{\"model\":\"m\",\"prompt\":\"hi\",\"max_tokens\":5}"));
            await().atMost(Duration.ofSeconds(30)).until(() -> started.size() == 1);
            String id = started.get(0);

            entry.grid().ignite().close(); // as a segmentation stops it: the process rejoins on a fresh grid node

            Http.Response r = answer.get(60, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(r.status()).as(r.body()).isEqualTo(503);
            assertThat(r.headers().firstValue("Retry-After")).isPresent();
            assertThat(r.json().at("/error/message").asText()).contains("rejoining").contains("send");

            // The runner stops the work of the client's node that left and the queue forgets it: nobody will ever
            // read its output. Put back in the queue instead, it was placed and run again for nobody until its
            // attempts ran out (seen in the long fault run).
            await().atMost(Duration.ofSeconds(30)).until(() -> stopped.contains(id));
            await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> exec.queue().get(id) == null);
            Thread.sleep(3_000); // a re-placement would take a sweep or two (250 ms each)
            assertThat(started).as("runs of the request after its client's node left").containsExactly(id);
            assertThat(exec.queue().get(id)).isNull();
        } finally {
            ticks.shutdownNow();
            server.close();
            telemetry.close();
            load.shutdown();
            entry.close();
            exec.close();
            bystander.close();
        }
    }

    private static NodeInfo info(String name, String model) {
        return new NodeInfo(null, name, model, "h", List.of(), "djl", "CPU", 8, 4096, "http://127.0.0.1:0");
    }

    /** Three expected members with quick test timings; the entry rejoins by itself after its grid node stops. */
    private static Consumer<GridConfig> config(String name, int port) {
        return c -> {
            c.nodeName = name;
            c.gridPort = port;
            c.peers = List.of("127.0.0.1:" + PORT + ".." + (PORT + 2));
            c.expectedNodes = 3;
            c.failureDetection = Duration.ofMillis(3000);
            c.health.heartbeatInterval = Duration.ofMillis(200);
            c.failover.initialBackoff = Duration.ofMillis(50);
            c.failover.sweepInterval = Duration.ofMillis(250);
            c.rejoin = true;
        };
    }

    private static int port(int port) {
        int moved = port + Integer.getInteger("autoglm.test.portOffset", 0);
        return moved + 1000 <= 65535 ? moved : port;
    }
}
