package org.autoglm.gossip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.autoglm.gossip.TaggedMembers.request;

import java.time.Duration;
import java.util.List;
import java.util.stream.IntStream;
import org.autoglm.gossip.dispatch.Worker;
import org.autoglm.gossip.dispatch.Workers;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Output that an executing node cannot deliver to the client's node (the connection broke, the client's node was paused
 * but not dropped) stops that attempt and puts the request back in the queue; the client's node resumes it after the
 * tokens its client has. Before, the attempt was only stopped: the queue still said it ran on a live node, so the
 * client's node waited for output that never came, and the stream never ended (seen after a SIGSTOP of a node).
 */
class LostOutputTest {

    /** In the fault tests' port range, moved by the suite's port offset where the communication port still fits. */
    private static final int BASE = port(33470);

    private TaggedMembers cluster;
    private Worker lossy;

    @BeforeEach
    void start() {
        cluster = TaggedMembers.start(BASE);
    }

    @AfterEach
    void stop() {
        if (lossy != null) {
            lossy.close();
        }
        cluster.members().forEach(Cluster::close);
    }

    @Test
    void anAttemptWhoseOutputWasLostIsResumedAndTheStreamEndsWhole() {
        Cluster n2 = cluster.members().get(2);
        n2.worker().close();
        lossy = Workers.losingOneSend(n2.grid(), n2.queue(), cluster.executors().get(2), 2);
        Cluster receiver = cluster.members().get(0);
        RecordingListener client = new RecordingListener();
        receiver.dispatcher().submit(request(receiver, 40, null, List.of("big")), client); // only n2 is "big"

        await().atMost(Duration.ofSeconds(30)).until(client::ended);
        assertThat(client.error).as("the stream ends with its whole answer").isNull();
        assertThat(client.tokens).as("nothing lost, nothing repeated")
                .containsExactlyElementsOf(IntStream.rangeClosed(1, 40).boxed().toList());
        assertThat(client.ends).hasValue(1);
        assertThat(cluster.executors().get(2).started).as("run again after the lost output").hasValue(2);
    }

    private static int port(int port) {
        int moved = port + Integer.getInteger("autoglm.test.portOffset", 0);
        return moved + 1000 + 3 <= 65535 ? moved : port;
    }
}
