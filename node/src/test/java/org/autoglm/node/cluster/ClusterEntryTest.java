package org.autoglm.node.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.javalin.Javalin;
import io.javalin.security.RouteRole;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.autoglm.models.sampling.SamplingParams;
import org.autoglm.node.engine.Completion;
import org.autoglm.node.engine.GenerationListener;
import org.autoglm.node.engine.GenerationRequest;
import org.autoglm.node.engine.RequestRejectedException;
import org.autoglm.node.engine.TokenDelta;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import picocli.CommandLine;

/**
 * What clients of a node see from the cluster layer, on a real one-node grid whose model is not loaded (so nothing
 * runs and accepted requests stay queued): {@code /cluster/health} over real HTTP, and the refusals at submit that
 * the API turns into 429 / 503 at once instead of a 500 after the placement retries ran out.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ClusterEntryTest {

    private static final RouteRole ANY = new RouteRole() {};
    private static final GenerationListener IGNORE = new GenerationListener() {
        @Override
        public void onDelta(TokenDelta delta) {}

        @Override
        public void onFinish(Completion completion) {}
    };

    private ClusterNode node;

    @BeforeAll
    void start() {
        ClusterOptions options = new ClusterOptions();
        new CommandLine(options).parseArgs("--grid-port", "27880", "--node-name", "entry-0", "--expected-nodes", "1",
                "--grid-failure-detection", "1500", "--tags", "cpu");
        node = ClusterNode.start(options);
        await().atMost(Duration.ofSeconds(20)).until(() -> node.cluster().lease().leader().isPresent());
    }

    @AfterAll
    void stop() {
        node.close();
    }

    @Test
    void aNodeWithoutItsModelMakesTheClusterUnhealthy() throws Exception {
        Javalin app = Javalin.create(c -> c.showJavalinBanner = false);
        node.installRoutes(app, ANY, ANY);
        app.start("127.0.0.1", 0);
        try {
            URI health = URI.create("http://127.0.0.1:" + app.port() + "/cluster/health");
            HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(health).build(),
                    HttpResponse.BodyHandlers.ofString());
            JsonNode body = new ObjectMapper().readTree(r.body());
            assertThat(r.statusCode()).as(r.body()).isEqualTo(503);
            assertThat(body.get("leader").asText()).isEqualTo("entry-0");
            assertThat(body.get("healthy_nodes").asInt()).isZero();
            assertThat(body.get("problems").toString()).contains("entry-0 has no model loaded");
        } finally {
            app.stop();
        }
    }

    @Test
    void beyondItsAdmissionLimitANodeRefusesAtOnceAsOverloaded() throws Exception {
        ClusterInferenceService service = new ClusterInferenceService(node.cluster(), "demo", 512, 2);
        service.submit(request("a", List.of()), IGNORE);
        service.submit(request("b", List.of()), IGNORE);
        assertThatThrownBy(() -> service.submit(request("c", List.of()), IGNORE))
                .isInstanceOfSatisfying(RequestRejectedException.class,
                        e -> assertThat(e.kind()).isEqualTo(RequestRejectedException.Kind.OVERLOADED));
        assertThat(service.cancel("a")).isTrue();
        service.submit(request("d", List.of()), IGNORE); // room again
        service.cancel("b");
        service.cancel("d");
    }

    @Test
    void concurrentSubmitsCannotAllSlipPastTheLimit() throws Exception {
        ClusterInferenceService service = new ClusterInferenceService(node.cluster(), "demo", 512, 2);
        int clients = 8;
        CountDownLatch go = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        AtomicInteger accepted = new AtomicInteger();
        AtomicInteger overloaded = new AtomicInteger();
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int i = 0; i < clients; i++) {
                String id = "burst-" + i;
                done.add(pool.submit(() -> {
                    go.await();
                    try {
                        service.submit(request(id, List.of()), IGNORE);
                        accepted.incrementAndGet();
                    } catch (RequestRejectedException e) {
                        assertThat(e.kind()).isEqualTo(RequestRejectedException.Kind.OVERLOADED);
                        overloaded.incrementAndGet();
                    }
                    return null;
                }));
            }
            go.countDown();
            for (Future<?> f : done) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(accepted.get()).isEqualTo(2);
        assertThat(overloaded.get()).isEqualTo(clients - 2);
        for (int i = 0; i < clients; i++) {
            service.cancel("burst-" + i);
        }
    }

    @Test
    void tagsNoMemberHasAreRefusedAtOnce() throws Exception {
        ClusterInferenceService service = new ClusterInferenceService(node.cluster(), "demo", 512, Integer.MAX_VALUE);
        assertThatThrownBy(() -> service.submit(request("t1", List.of("h100")), IGNORE))
                .isInstanceOfSatisfying(RequestRejectedException.class, e -> {
                    assertThat(e.kind()).isEqualTo(RequestRejectedException.Kind.UNAVAILABLE);
                    assertThat(e.getMessage()).contains("[h100]");
                });
        service.submit(request("t2", List.of("cpu")), IGNORE); // a member has it: queued
        service.cancel("t2");
    }

    private static GenerationRequest request(String id, List<String> tags) {
        return new GenerationRequest(id, new int[] {1, 2, 3}, SamplingParams.greedy(4), 0, null, null, tags, "demo",
                null);
    }
}
