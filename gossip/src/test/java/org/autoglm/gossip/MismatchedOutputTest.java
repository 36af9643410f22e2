package org.autoglm.gossip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.autoglm.gossip.dispatch.RequestExecutor;
import org.autoglm.gossip.dispatch.Workers;
import org.autoglm.gossip.queue.QueuedRequest;
import org.autoglm.gossip.registry.NodeInfo;
import org.autoglm.gossip.registry.NodeLoad;
import org.junit.jupiter.api.Test;

/**
 * The client's node takes only output that starts exactly where its client's output ends. An attempt whose message
 * overlaps that end (part repeat, part new: an attempt that resumed from an older restart point, with several tokens
 * in one message) cannot be cut apart there, so the attempt is silenced and the request resumes from exactly what the
 * client has. Before, such a message was dropped whole and the attempt's next one taken: a gap in the client's output.
 */
class MismatchedOutputTest {

    /** In the fault tests' port range, moved by the suite's port offset where the communication port still fits. */
    private static final int PORT = port(21460);

    /** Runs nothing by itself: records each start (with its restart point) and each cancel. */
    private static final class SilentExecutor implements RequestExecutor {
        final List<int[]> starts = new CopyOnWriteArrayList<>();
        final Map<String, Boolean> cancelled = new ConcurrentHashMap<>();

        @Override
        public void start(QueuedRequest request, ExecutionSink sink) {
            starts.add(request.resumeIds());
        }

        @Override
        public void cancel(String requestId) {
            cancelled.put(requestId, true);
        }
    }

    @Test
    void anOverlappingMessageSilencesItsAttemptAndTheRequestResumesAfterTheClientsTokens() {
        SilentExecutor executor = new SilentExecutor();
        Cluster node = Cluster.start(TestGrid.config("m0", PORT, PORT, 1),
                new NodeInfo(null, "m0", "glm-test", "h", List.of(), "djl", "CPU", 8, 128, "http://127.0.0.1:0"),
                () -> NodeLoad.IDLE, executor);
        try {
            await().atMost(Duration.ofSeconds(15)).until(() -> node.lease().isLeader());
            RecordingListener client = new RecordingListener();
            QueuedRequest request = TaggedMembers.request(node, 10, null, List.of());
            node.dispatcher().submit(request, client);
            await().atMost(Duration.ofSeconds(10)).until(() -> executor.starts.size() == 1);
            java.util.UUID self = node.grid().localId();

            Workers.sendTokens(node.grid(), self, request.id(), 1, 0, 1, 2);
            await().atMost(Duration.ofSeconds(5)).until(() -> client.tokens.size() == 2);
            Workers.sendTokens(node.grid(), self, request.id(), 1, 1, 2, 3); // 2 is a repeat, 3 is new
            Workers.sendTokens(node.grid(), self, request.id(), 1, 3, 4); // after 3, which the client never got

            await().atMost(Duration.ofSeconds(10)).until(() -> executor.starts.size() == 2);
            assertThat(executor.starts.get(1)).as("the new attempt resumes after exactly the client's tokens")
                    .containsExactly(1, 2);
            assertThat(executor.cancelled).containsKey(request.id());
            assertThat(client.tokens).containsExactly(1, 2);
            assertThat(client.ended()).isFalse();

            Workers.sendTokens(node.grid(), self, request.id(), 2, 2, 3, 4);
            await().atMost(Duration.ofSeconds(5)).until(() -> client.tokens.size() == 4);
            assertThat(client.tokens).containsExactly(1, 2, 3, 4);
        } finally {
            node.close();
        }
    }

    private static int port(int port) {
        int moved = port + Integer.getInteger("autoglm.test.portOffset", 0);
        return moved + 1000 <= 65535 ? moved : port;
    }
}
