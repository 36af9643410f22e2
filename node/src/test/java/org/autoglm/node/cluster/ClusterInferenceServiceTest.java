package org.autoglm.node.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.ignite.spi.discovery.tcp.TcpDiscoverySpi;
import org.autoglm.gossip.Cluster;
import org.autoglm.gossip.registry.NodeHealth;
import org.autoglm.gossip.registry.NodeInfo;
import org.autoglm.gossip.registry.NodeLoad;
import org.autoglm.models.djl.DjlBackend;
import org.autoglm.models.sampling.SamplingParams;
import org.autoglm.node.engine.ReferenceCases;
import org.autoglm.node.engine.Completion;
import org.autoglm.node.engine.Engine;
import org.autoglm.node.engine.EngineOptions;
import org.autoglm.node.engine.FinishReason;
import org.autoglm.node.engine.GenerationListener;
import org.autoglm.node.engine.GenerationRequest;
import org.autoglm.node.engine.RequestRejectedException;
import org.autoglm.node.engine.TextStream;
import org.autoglm.node.engine.TokenDelta;
import org.autoglm.node.engine.runner.SamplerFactory;
import org.autoglm.node.session.Message;
import org.autoglm.node.session.Session;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Three cluster members in one JVM, each with a real engine on the glm-tiny reference checkpoint: a request sent to
 * any node yields the reference's greedy tokens, and a stream whose executing node dies mid-generation ends with
 * exactly the tokens an uninterrupted run gives.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@org.junit.jupiter.api.TestMethodOrder(org.junit.jupiter.api.MethodOrderer.OrderAnnotation.class)
class ClusterInferenceServiceTest {

    private static final int BASE = 27700 + Integer.getInteger("autoglm.test.portOffset", 0);
    private static final int SIZE = 3;

    private final List<Cluster> members = new ArrayList<>();
    private final List<Engine> engines = new ArrayList<>();
    private final List<PacedEngine> paced = new ArrayList<>();
    private final List<ClusterInferenceService> services = new ArrayList<>();
    private final List<AutoCloseable> backends = new ArrayList<>();
    private JsonNode reference;
    private Path model;

    @BeforeAll
    void start() throws Exception {
        Path fixtures = ReferenceCases.fixturesDir();
        model = fixtures.resolve("glm-tiny");
        reference = new ObjectMapper().readTree(fixtures.resolve("glm-tiny.reference.json").toFile());
        for (int i = 0; i < SIZE; i++) {
            DjlBackend backend = DjlBackend.load(model);
            backends.add(backend);
            Engine engine = new Engine(backend, EngineOptions.create(o -> {
                o.blockSize = 4;
                o.numKvBlocks = 512;
            }), TextStream.Factory.NONE, SamplerFactory.DEFAULT);
            engines.add(engine);
            paced.add(new PacedEngine(engine, 5));
        }
        members.addAll(startAll(i -> {
            NodeInfo info = new NodeInfo(null, "c" + i, "glm-tiny", "h", i == 0 ? List.of() : List.of("worker"), "djl", "CPU", 8, 512, "http://c" + i);
            Cluster cluster = Cluster.start(config(i), info, () -> NodeLoad.IDLE);
            cluster.serve(info, new EngineExecutor(paced.get(i)));
            return cluster;
        }));
        for (Cluster member : members) {
            services.add(new ClusterInferenceService(member, "glm-tiny", 512, 4));
        }
        await().atMost(Duration.ofSeconds(20)).until(() -> members.stream().anyMatch(m -> m.lease().isLeader())
                && members.get(0).registry().nodes().stream().filter(n -> n.health() == NodeHealth.HEALTHY).count() == SIZE);
    }

    @AfterAll
    void stop() throws Exception {
        for (Cluster member : members) {
            try {
                member.close();
            } catch (RuntimeException ignored) {
                // the crashed member is half gone already
            }
        }
        for (Engine engine : engines) {
            engine.close();
        }
        for (AutoCloseable backend : backends) {
            backend.close();
        }
    }

    @Test
    void anyNodeAnswersWithTheReferenceTokens() throws Exception {
        int i = 0;
        for (JsonNode c : reference.get("cases")) {
            int[] prompt = ints(c.get("input_ids"));
            Recorder out = new Recorder();
            services.get(i++ % SIZE).submit(greedy("ref-" + i, prompt, 24), out);
            Completion done = out.done.get(30, TimeUnit.SECONDS);
            assertThat(done.reason()).isEqualTo(FinishReason.LENGTH);
            assertThat(done.promptTokens()).isEqualTo(prompt.length);
            assertThat(done.completionTokens()).isEqualTo(24);
            assertThat(out.ids()).as(c.get("text").asText()).containsExactly(ints(c.get("greedy_ids")));
            // The executing engine's scheduling reaches the receiving node once, before the first token.
            assertThat(out.scheduledBeforeFirstToken).isEqualTo(1);
        }
    }

    @Test
    void tooLongIsRefusedAtSubmitAndCancelEndsOnce() throws Exception {
        assertThatThrownBy(() -> services.get(0).submit(greedy("long", new int[500], 100), new Recorder()))
                .isInstanceOfSatisfying(RequestRejectedException.class,
                        e -> assertThat(e.kind()).isEqualTo(RequestRejectedException.Kind.TOO_LONG))
                .hasMessageContaining("500").hasMessageContaining("512");

        // A node takes no more clients than its limit: the next one is told to retry (HTTP 429).
        List<Recorder> busy = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            busy.add(new Recorder());
            services.get(2).submit(greedy("busy-" + i, new int[] {5, 6, 7}, 400), busy.get(i));
        }
        assertThatThrownBy(() -> services.get(2).submit(greedy("one-too-many", new int[] {5}, 4), new Recorder()))
                .isInstanceOfSatisfying(RequestRejectedException.class, e -> assertThat(e.retryable()).isTrue())
                .hasMessageContaining("retry");
        for (int i = 0; i < 4; i++) {
            assertThat(services.get(2).cancel("busy-" + i)).isTrue();
        }

        Recorder out = new Recorder();
        services.get(1).submit(greedy("to-cancel", new int[] {5, 6, 7}, 400), out);
        await().atMost(Duration.ofSeconds(10)).until(() -> out.tokens.size() >= 3);
        assertThat(services.get(1).cancel("to-cancel")).isTrue();
        assertThat(out.done.get(5, TimeUnit.SECONDS).reason()).isEqualTo(FinishReason.CANCELLED);
        assertThat(services.get(1).cancel("to-cancel")).isFalse();
        await().atMost(Duration.ofSeconds(10)).until(() -> members.stream().allMatch(m -> m.worker().running() == 0));
        assertThat(out.finishes).hasValue(1);
    }

    @Test
    void sessionsWrittenOnOneNodeAreReadOnAnother() {
        Session session = Session.create("sess-1", "alice", "be brief", Duration.ofMinutes(10), Instant.now())
                .withTurn(List.of(), List.of(new Message("user", "你好"), new Message("assistant", "hi")), 12,
                        Instant.now());
        new GridSessionStore(members.get(0).sessions()).put(session);
        GridSessionStore other = new GridSessionStore(members.get(2).sessions());
        Session read = other.get("sess-1").orElseThrow();
        assertThat(read.history()).containsExactlyElementsOf(session.history());
        assertThat(read.systemPrompt()).isEqualTo("be brief");
        assertThat(other.remove("sess-1")).isTrue();
        assertThat(new GridSessionStore(members.get(1).sessions()).get("sess-1")).isEmpty();
    }

    /** Runs last: it kills a member. */
    @Test
    @org.junit.jupiter.api.Order(Integer.MAX_VALUE)
    void zzAStreamWhoseNodeDiesEndsWithTheUninterruptedAnswer() throws Exception {
        int[] prompt = ints(reference.get("cases").get(0).get("input_ids"));
        Recorder alone = new Recorder();
        engines.get(0).submit(greedy("alone", prompt, 150), alone);
        alone.done.get(30, TimeUnit.SECONDS);

        Recorder out = new Recorder();
        GenerationRequest onAWorker = greedy("survivor", prompt, 150);
        onAWorker = new GenerationRequest(onAWorker.id(), prompt, onAWorker.params(), 0, null, null,
                List.of("worker"), null, null); // not on c0, which holds the client connection
        services.get(0).submit(onAWorker, out);
        await().atMost(Duration.ofSeconds(20)).until(() -> out.tokens.size() >= 20);
        int victim = executorOf("survivor");
        assertThat(out.done).isNotDone();
        paced.get(victim).crash();
        ((TcpDiscoverySpi) members.get(victim).grid().ignite().configuration().getDiscoverySpi()).simulateNodeFailure();

        Completion done = out.done.get(30, TimeUnit.SECONDS);
        assertThat(done.reason()).isEqualTo(FinishReason.LENGTH);
        assertThat(done.completionTokens()).isEqualTo(150);
        assertThat(done.promptTokens()).isEqualTo(prompt.length);
        assertThat(out.ids()).containsExactly(alone.ids());
        assertThat(out.finishes).hasValue(1);
    }

    private int executorOf(String requestId) {
        var entry = members.get(0).queue().get(requestId);
        for (int i = 0; i < SIZE; i++) {
            if (members.get(i).grid().localId().equals(entry.assignee())) {
                return i;
            }
        }
        throw new AssertionError("no executor for " + requestId);
    }

    private static java.util.function.Consumer<org.autoglm.gossip.grid.GridConfig> config(int i) {
        return c -> {
            c.nodeName = "c" + i;
            c.gridPort = BASE + i;
            c.peers = List.of("127.0.0.1:" + BASE + ".." + (BASE + SIZE - 1));
            c.expectedNodes = SIZE;
            c.failureDetection = Duration.ofMillis(1500);
            c.health.heartbeatInterval = Duration.ofMillis(200);
            c.health.suspectAfter = Duration.ofMillis(800);
            c.health.deadAfter = Duration.ofMillis(2000);
            c.lease.renewInterval = Duration.ofMillis(200);
            c.failover.initialBackoff = Duration.ofMillis(50);
            c.failover.sweepInterval = Duration.ofMillis(250);
            c.rejoin = false; // the member the test crashes stays dead
        };
    }

    private static <T> List<T> startAll(java.util.function.IntFunction<T> starter) {
        List<CompletableFuture<T>> futures = new ArrayList<>();
        for (int i = 0; i < SIZE; i++) {
            int index = i;
            futures.add(CompletableFuture.supplyAsync(() -> starter.apply(index)));
        }
        return futures.stream().map(CompletableFuture::join).toList();
    }

    private static GenerationRequest greedy(String id, int[] prompt, int maxTokens) {
        return GenerationRequest.of(id, prompt, new SamplingParams(0, 1, 0, 0, 1, 0, 0, null, maxTokens, List.of(), true, -1));
    }


    private static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asInt();
        }
        return out;
    }

    /** What the HTTP layer would see. */
    static final class Recorder implements GenerationListener {
        final List<Integer> tokens = new CopyOnWriteArrayList<>();
        final CompletableFuture<Completion> done = new CompletableFuture<>();
        final AtomicInteger finishes = new AtomicInteger();
        volatile int scheduledBeforeFirstToken;

        @Override
        public void onScheduled() {
            if (tokens.isEmpty()) {
                scheduledBeforeFirstToken++;
            }
        }

        @Override
        public void onDelta(TokenDelta delta) {
            for (int t : delta.tokenIds()) {
                tokens.add(t);
            }
        }

        @Override
        public void onFinish(Completion completion) {
            finishes.incrementAndGet();
            done.complete(completion);
        }

        int[] ids() {
            return tokens.stream().mapToInt(Integer::intValue).toArray();
        }
    }
}
