package org.autoglm.gossip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.autoglm.gossip.TaggedMembers.request;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.stream.IntStream;
import org.autoglm.gossip.dispatch.Worker;
import org.autoglm.gossip.dispatch.Workers;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The lost request of issue 16: after {@code kill -9} of the leader, one request in thirty was assigned five times to
 * live nodes that never started it ("did not start it within 10000 ms ... giving up"). The workers never heard of
 * those assignments: Ignite fires a partition's continuous-query notices in update-counter order, and a transaction
 * whose node died mid-commit can leave a counter whose notice never comes, holding back every later notice of that
 * partition (the same request, assigned again, lands in the same partition each time). A worker must not depend on
 * notices: here n2's worker gets none at all, and still starts what the queue says is assigned to it.
 */
class LostNoticeTest {

    private static final int BASE = 14120 + Integer.getInteger("autoglm.test.portOffset", 0) + 4000;

    private TaggedMembers cluster;
    private Worker deaf;

    @BeforeEach
    void start() {
        cluster = TaggedMembers.start(BASE);
    }

    @AfterEach
    void stop() {
        if (deaf != null) {
            deaf.close();
        }
        cluster.members().forEach(Cluster::close);
    }

    @Test
    void anAssignmentWhoseNoticeNeverCameIsStartedAllTheSame() {
        Cluster n2 = cluster.members().get(2);
        n2.worker().close();
        deaf = Workers.sweepingOnly(n2.grid(), n2.queue(), cluster.executors().get(2));
        Cluster receiver = cluster.members().get(0);
        RecordingListener client = new RecordingListener();
        receiver.dispatcher().submit(request(receiver, 12, null, List.of("big")), client); // only n2 is "big"

        await().atMost(Duration.ofSeconds(20)).until(client::ended);
        assertThat(client.error).as("started by the node it was assigned to, with no notice").isNull();
        assertThat(client.finishedBy).isEqualTo("n2");
        assertThat(client.tokens).containsExactlyElementsOf(IntStream.rangeClosed(1, 12).boxed().toList());
        assertThat(cluster.executors().get(2).started).as("started on n2").hasPositiveValue();
    }
}
