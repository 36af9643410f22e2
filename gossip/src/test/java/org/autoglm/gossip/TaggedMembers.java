package org.autoglm.gossip;

import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.autoglm.gossip.grid.GridConfig;
import org.autoglm.gossip.queue.QueuedRequest;
import org.autoglm.gossip.registry.NodeHealth;
import org.autoglm.gossip.registry.NodeInfo;
import org.autoglm.gossip.registry.NodeLoad;

/**
 * Three cluster members n0, n1, n2 on loopback for the dispatch tests: n0 has no tags, n1 carries {@code worker},
 * n2 {@code worker} and {@code big}. Each runs a {@link CountingExecutor} and reports the load its test sets.
 */
record TaggedMembers(List<Cluster> members, List<CountingExecutor> executors, List<AtomicReference<NodeLoad>> loads) {

    static final int SIZE = 3;
    private static final List<List<String>> TAGS = List.of(List.of(), List.of("worker"), List.of("worker", "big"));

    /** Starts the three on ports {@code basePort ..} and returns once a leader holds the lease and all are healthy. */
    static TaggedMembers start(int basePort) {
        return start(basePort, config -> { });
    }

    /** As {@link #start(int)}, with {@code tweak} applied to each member's test configuration. */
    static TaggedMembers start(int basePort, Consumer<GridConfig> tweak) {
        List<CountingExecutor> executors = new ArrayList<>();
        List<AtomicReference<NodeLoad>> loads = new ArrayList<>();
        for (int i = 0; i < SIZE; i++) {
            executors.add(new CountingExecutor("n" + i, 15));
            loads.add(new AtomicReference<>(NodeLoad.IDLE));
        }
        List<Cluster> members = TestGrid.start(basePort, SIZE, i -> Cluster.start(
                TestGrid.config("n" + i, basePort + i, basePort, SIZE).andThen(tweak),
                new NodeInfo(null, "n" + i, "glm-test", "h", TAGS.get(i), "djl", "CPU", 8, 128, "http://127.0.0.1:0"),
                loads.get(i)::get, executors.get(i)));
        await().atMost(Duration.ofSeconds(15)).until(() -> members.stream().anyMatch(m -> m.lease().isLeader())
                && members.get(0).registry().nodes().stream().filter(n -> n.health() == NodeHealth.HEALTHY).count() == SIZE);
        return new TaggedMembers(members, executors, loads);
    }

    /** A new request of 4 prompt tokens for model glm-test, received by {@code receiver}. */
    static QueuedRequest request(Cluster receiver, int maxTokens, String session, List<String> tags) {
        return QueuedRequest.pending("req-" + UUID.randomUUID(), new byte[0], "glm-test", session, tags, 4, maxTokens,
                receiver.grid().localId());
    }
}
