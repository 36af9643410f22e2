package org.autoglm.gossip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;
import org.autoglm.gossip.queue.QueuedRequest;
import org.autoglm.gossip.queue.RequestState;
import org.autoglm.gossip.registry.NodeHealth;
import org.autoglm.gossip.registry.NodeInfo;
import org.autoglm.gossip.registry.NodeLoad;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Membership at run time on four members of a cluster started with {@code --expected-nodes 3}: the first three take
 * the voting seats, the fourth (tagged {@code extra}) serves and executes without a vote, an admin's remove takes
 * its work away, the voting set changes only from a side with a majority, and a node whose engine stopped stepping
 * while it holds work is reported stalled.
 */
class MembershipTest {

    private static final int BASE = 14124 + Integer.getInteger("autoglm.test.portOffset", 0) + 4000;

    private final List<Cluster> members = new ArrayList<>();
    private final List<CountingExecutor> executors = new ArrayList<>();
    private final List<AtomicReference<NodeLoad>> loads = new ArrayList<>();

    MembershipTest() {
        for (int i = 0; i < 4; i++) {
            executors.add(new CountingExecutor("n" + i, 10));
            loads.add(new AtomicReference<>(NodeLoad.IDLE));
        }
    }

    @AfterEach
    void stop() {
        members.forEach(Cluster::close);
    }

    private Cluster member(int i) {
        List<String> tags = i == 3 ? List.of("extra") : List.of();
        return Cluster.start(TestGrid.config("n" + i, BASE + i, BASE, 4).andThen(c -> c.expectedNodes = 3),
                new NodeInfo(null, "n" + i, "glm-test", "h", tags, "djl", "CPU", 8, 128, "http://127.0.0.1:0"),
                loads.get(i)::get, executors.get(i));
    }

    @Test
    void votersComeFromExpectedNodesAndChangeOnlyByAnAdmin() {
        members.addAll(TestGrid.start(BASE, 3, this::member).stream().toList());
        await().atMost(Duration.ofSeconds(30)).until(() -> members.stream().allMatch(
                m -> m.members().list().voters().size() == 3) && members.stream().anyMatch(m -> m.lease().isLeader()));
        assertThat(members.get(0).members().list().voters()).containsExactlyInAnyOrder("n0", "n1", "n2");
        assertThat(members.get(0).members().list().quorum()).isEqualTo(2);

        members.add(member(3)); // joins the running cluster: no seat is free, so it serves without a vote
        await().atMost(Duration.ofSeconds(20)).until(() -> members.get(0).registry().find("n3")
                .filter(n -> n.health() == NodeHealth.HEALTHY).isPresent());
        assertThat(members.get(3).members().list().voters()).doesNotContain("n3");
        assertThat(members.get(3).grid().hasQuorum()).as("a non-voter sees the voters' majority").isTrue();
        RecordingListener onNonVoter = submit(members.get(0), "extra");
        await().atMost(Duration.ofSeconds(20)).until(onNonVoter::ended);
        assertThat(onNonVoter.error).isNull();
        assertThat(onNonVoter.finishedBy).as("a non-voter executes").isEqualTo("n3");

        members.get(1).members().remove("n3");
        await().atMost(Duration.ofSeconds(10)).until(() -> members.stream().allMatch(m -> m.members().isRemoved("n3")));
        int before = executors.get(3).started.get();
        QueuedRequest waiting = TaggedMembers.request(members.get(0), 4, null, List.of("extra"));
        RecordingListener toRemoved = new RecordingListener();
        members.get(0).dispatcher().submit(waiting, toRemoved);
        await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(4)).until(
                () -> members.get(0).queue().get(waiting.id()).state() == RequestState.PENDING);
        assertThat(executors.get(3).started).as("a removed node gets no work").hasValue(before);
        members.get(0).dispatcher().cancel(waiting.id());

        members.get(2).members().add("n3");
        await().atMost(Duration.ofSeconds(10)).until(() -> members.get(0).members().list().voters().contains("n3"));
        assertThat(members.get(0).members().list().seats()).isEqualTo(4);
        assertThat(members.get(0).members().list().quorum()).isEqualTo(3);
        members.get(0).members().remove("n3");
        assertThat(members.get(0).members().list().quorum()).isEqualTo(2);

        // Four voters need three: two of them are no majority, though --expected-nodes 3 would take two. The caches
        // guard themselves by the voters too, so that side can write nothing (no request, no lease, no claim).
        members.get(1).members().add("n3");
        await().atMost(Duration.ofSeconds(10)).until(() -> members.stream().allMatch(
                m -> m.members().list().quorum() == 3 && m.grid().voters().size() == 4));
        members.get(2).close();
        members.get(3).close();
        members.subList(2, 4).clear();
        await().atMost(Duration.ofSeconds(10)).until(() -> members.get(0).grid().visibleNodes() == 2);
        assertThat(members.get(0).grid().hasQuorum()).isFalse();
        QueuedRequest onMinority = TaggedMembers.request(members.get(0), 4, null, List.of());
        assertThatThrownBy(() -> members.get(0).queue().enqueue(onMinority))
                .hasMessageContaining("no majority");
        await().atMost(Duration.ofSeconds(5)).until(() -> members.stream().noneMatch(m -> m.lease().isLeader()));
    }

    @Test
    void aSideWithoutAMajorityOfVotersCannotChangeThemAndANodeThatStopsSteppingIsStalled() {
        members.addAll(TestGrid.start(BASE, 3, this::member).stream().toList());
        await().atMost(Duration.ofSeconds(30)).until(() -> members.stream().allMatch(
                m -> m.members().list().voters().size() == 3));
        // n1's engine holds work and has not stepped for 10 s: alive in the grid, stalled in the registry.
        loads.get(1).set(new NodeLoad(1, 1, 0.1, 0, 20, 100, 8, 10_000));
        await().atMost(Duration.ofSeconds(5)).until(() -> members.get(0).registry().find("n1")
                .map(n -> n.health() == NodeHealth.STALLED).orElse(false));
        RecordingListener client = submit(members.get(0), null);
        await().atMost(Duration.ofSeconds(20)).until(client::ended);
        assertThat(client.finishedBy).as("placement passes over a stalled node").isNotEqualTo("n1");

        members.get(1).close();
        members.get(2).close();
        await().atMost(Duration.ofSeconds(10)).until(() -> !members.get(0).grid().hasQuorum());
        assertThatThrownBy(() -> members.get(0).members().add("n9")).hasMessageContaining("no majority of the voters");
        members.subList(1, 3).clear();
    }

    private static RecordingListener submit(Cluster receiver, String tag) {
        RecordingListener client = new RecordingListener();
        receiver.dispatcher().submit(QueuedRequest.pending("req-" + UUID.randomUUID(), new byte[0], "glm-test", null,
                tag == null ? List.of() : List.of(tag), 4, 6, receiver.grid().localId()), client);
        return client;
    }
}
