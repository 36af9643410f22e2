package org.autoglm.gossip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.stream.IntStream;
import org.autoglm.gossip.dispatch.Worker;
import org.autoglm.gossip.dispatch.Workers;
import org.autoglm.gossip.registry.NodeInfo;
import org.autoglm.gossip.registry.NodeLoad;
import org.junit.jupiter.api.Test;

/**
 * Output that an executing node cannot deliver to the client's node (the connection broke, the client's node was paused
 * but not dropped) stops that attempt and puts the request back in the queue; the client's node resumes it after the
 * tokens its client has. Before, the attempt was only stopped: the queue still said it ran on a live node, so the
 * client's node waited for output that never came, and the stream never ended (seen after a SIGSTOP of a node). One
 * node is enough: its worker's output to the client's node (itself) goes through a network that loses one message.
 */
class LostOutputTest {

    /** In the fault tests' port range, moved by the suite's port offset where the communication port still fits. */
    private static final int PORT = port(21470);

    @Test
    void anAttemptWhoseOutputWasLostIsResumedAndTheStreamEndsWhole() {
        CountingExecutor executor = new CountingExecutor("l0", 15);
        // Nothing here dies: failure detection and health as in production, so that a loaded machine drops no one.
        Cluster node = Cluster.start(TestGrid.config("l0", PORT, PORT, 1).andThen(config -> {
            config.failureDetection = Duration.ofSeconds(6);
            config.health.suspectAfter = Duration.ofSeconds(3);
            config.health.deadAfter = Duration.ofSeconds(10);
            config.failover.claimTimeout = Duration.ofSeconds(10);
        }), new NodeInfo(null, "l0", "glm-test", "h", List.of(), "djl", "CPU", 8, 128, "http://127.0.0.1:0"),
                () -> NodeLoad.IDLE, executor);
        Worker lossy = null;
        try {
            await().atMost(Duration.ofSeconds(30)).until(() -> node.lease().isLeader());
            node.worker().close();
            lossy = Workers.losingOneSend(node.grid(), node.queue(), executor, 2);
            RecordingListener client = new RecordingListener();
            node.dispatcher().submit(TaggedMembers.request(node, 40, null, List.of()), client);

            await().atMost(Duration.ofSeconds(60)).until(client::ended);
            assertThat(client.error).as("the stream ends with its whole answer").isNull();
            assertThat(client.tokens).as("nothing lost, nothing repeated")
                    .containsExactlyElementsOf(IntStream.rangeClosed(1, 40).boxed().toList());
            assertThat(client.ends).hasValue(1);
            assertThat(executor.started.get()).as("run again after the lost output").isGreaterThanOrEqualTo(2);
        } finally {
            if (lossy != null) {
                lossy.close();
            }
            node.close();
        }
    }

    private static int port(int port) {
        int moved = port + Integer.getInteger("autoglm.test.portOffset", 0);
        return moved + 1000 <= 65535 ? moved : port;
    }
}
