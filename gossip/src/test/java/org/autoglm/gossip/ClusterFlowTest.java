package org.autoglm.gossip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.autoglm.gossip.TaggedMembers.request;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.IntStream;
import org.autoglm.gossip.queue.QueuedRequest;
import org.autoglm.gossip.queue.RequestState;
import org.autoglm.gossip.registry.NodeLoad;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Test;

/**
 * Requests through three real cluster members on loopback (one cluster for the class): accepted anywhere, placed by
 * the leader by tags, load and session, streamed back in order, failed with a clear error when nobody can run them.
 * The members' tags are {@link TaggedMembers}'.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ClusterFlowTest {

    private static final int BASE = 27640 + Integer.getInteger("autoglm.test.portOffset", 0);
    private static final int SIZE = TaggedMembers.SIZE;

    private List<Cluster> members;
    private List<CountingExecutor> executors;
    private List<AtomicReference<NodeLoad>> loads;

    @BeforeAll
    void start() {
        TaggedMembers cluster = TaggedMembers.start(BASE);
        members = cluster.members();
        executors = cluster.executors();
        loads = cluster.loads();
    }

    @AfterEach
    void reset() {
        for (int i = 0; i < SIZE; i++) {
            loads.get(i).set(NodeLoad.IDLE);
            executors.get(i).refuse = false;
            executors.get(i).busy = false;
            members.get(0).registry().setDraining(members.get(i).grid().localId(), false);
        }
        // The next test starts from idle nodes as every member's registry sees them.
        await().atMost(Duration.ofSeconds(5)).until(() -> members.stream().allMatch(m -> m.registry().nodes().stream()
                .allMatch(n -> n.load().queuedTokens() == 0 && n.load().freeSlots() == NodeLoad.UNBOUNDED && !n.draining())));
    }

    @AfterAll
    void stop() {
        members.forEach(Cluster::close);
    }

    @Test
    void aRequestSentToAnyNodeStreamsAllItsTokensBackInOrder() {
        List<RecordingListener> clients = new ArrayList<>();
        for (Cluster member : members) {
            RecordingListener client = new RecordingListener();
            member.dispatcher().submit(request(member, 20, null, List.of()), client);
            clients.add(client);
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> clients.stream().allMatch(RecordingListener::ended));
        for (RecordingListener client : clients) {
            assertThat(client.error).isNull();
            assertThat(client.tokens).containsExactlyElementsOf(IntStream.rangeClosed(1, 20).boxed().toList());
            assertThat(client.ends).hasValue(1);
        }
    }

    @Test
    void requiredTagsAndLoadDecideWhereItRuns() {
        RecordingListener big = new RecordingListener();
        members.get(0).dispatcher().submit(request(members.get(0), 3, null, List.of("big")), big);
        await().atMost(Duration.ofSeconds(10)).until(big::ended);
        assertThat(big.finishedBy).isEqualTo("n2");

        // n2 reports a long queue; n1 is idle: work for any "worker" goes to n1.
        loads.get(2).set(new NodeLoad(40, 8, 0.5, 100, 20, 100_000));
        await().atMost(Duration.ofSeconds(5)).until(() -> members.get(0).registry().find("n2")
                .map(n -> n.load().queuedTokens() == 100_000).orElse(false));
        RecordingListener worker = new RecordingListener();
        members.get(0).dispatcher().submit(request(members.get(0), 3, null, List.of("worker")), worker);
        await().atMost(Duration.ofSeconds(10)).until(worker::ended);
        assertThat(worker.finishedBy).isEqualTo("n1");
    }

    @Test
    void aSessionsTurnsRunOnOneNodeAndDrainingNodesGetNothing() {
        List<String> ranOn = new ArrayList<>();
        for (int turn = 0; turn < 4; turn++) {
            Cluster receiver = members.get(turn % SIZE);
            RecordingListener client = new RecordingListener();
            receiver.dispatcher().submit(request(receiver, 2, "session-42", List.of()), client);
            await().atMost(Duration.ofSeconds(10)).until(client::ended);
            assertThat(client.error).isNull();
            ranOn.add(client.finishedBy);
        }
        assertThat(ranOn).containsOnly(ranOn.get(0));

        String home = ranOn.get(0);
        UUID homeId = members.get(0).registry().find(home).orElseThrow().id();
        members.get(0).registry().setDraining(homeId, true);
        RecordingListener moved = new RecordingListener();
        members.get(1).dispatcher().submit(request(members.get(1), 2, "session-42", List.of()), moved);
        await().atMost(Duration.ofSeconds(10)).until(moved::ended);
        assertThat(moved.finishedBy).isNotEqualTo(home);
    }

    @Test
    void sessionsAreCountedPerOwnerOverTheWholeGrid() {
        Cluster any = members.get(0);
        for (int i = 0; i < 12; i++) {
            members.get(i % SIZE).sessions().put("count-" + i, i % 3 == 0 ? "bob" : "carol", new byte[] {1}, Duration.ofMinutes(5));
        }
        assertThat(any.sessions().countOwnedBy("bob")).isEqualTo(4);
        assertThat(members.get(1).sessions().countOwnedBy("carol")).isEqualTo(8);
        assertThat(any.sessions().countOwnedBy("nobody")).isZero();
        any.sessions().remove("count-0");
        assertThat(members.get(2).sessions().countOwnedBy("bob")).isEqualTo(3);
    }

    @Test
    void aRequestNoNodeCanRunFailsWithAClearError() {
        executors.forEach(e -> e.refuse = true);
        RecordingListener refused = new RecordingListener();
        members.get(0).dispatcher().submit(request(members.get(0), 5, null, List.of()), refused);
        RecordingListener unplaceable = new RecordingListener();
        members.get(1).dispatcher().submit(request(members.get(1), 5, null, List.of("tpu")), unplaceable);

        await().atMost(Duration.ofSeconds(15)).until(() -> refused.ended() && unplaceable.ended());
        assertThat(refused.error).contains("failed after 5 attempts").contains("refuses work");
        assertThat(unplaceable.error).contains("no node could take").contains("tpu");
        assertThat(refused.ends).hasValue(1);
        assertThat(unplaceable.ends).hasValue(1);
    }

    @Test
    void refusalsOfFullNodesUseUpNoAttemptsAndNeverFailTheRequest() {
        executors.forEach(e -> e.busy = true);
        int before = executors.stream().mapToInt(e -> e.busyRefusals.get()).sum();
        RecordingListener client = new RecordingListener();
        QueuedRequest request = request(members.get(0), 4, null, List.of());
        members.get(0).dispatcher().submit(request, client);
        // Far more refusals than the 5 attempts a request has; it is still waiting, not failed.
        await().atMost(Duration.ofSeconds(4)).until(() ->
                executors.stream().mapToInt(e -> e.busyRefusals.get()).sum() - before >= 8);
        assertThat(client.ended()).isFalse();
        assertThat(members.get(1).queue().get(request.id()).attempts()).isLessThanOrEqualTo(1);
        // Busy past the placement timeout (5 s here): nodes that could take it exist, so it waits rather than fails.
        await().during(Duration.ofSeconds(6)).atMost(Duration.ofSeconds(8)).until(() -> !client.ended());

        executors.forEach(e -> e.busy = false);
        await().atMost(Duration.ofSeconds(10)).until(client::ended);
        assertThat(client.error).isNull();
        assertThat(client.tokens).containsExactly(1, 2, 3, 4);
    }

    @Test
    void aNodeWithNoFreeSlotsGetsNoWork() {
        // n1 would win on expected wait, but its engine's waiting queue is full; n2 is slower but has room.
        loads.get(1).set(new NodeLoad(16, 8, 0.3, 400, 20, 10, 0));
        loads.get(2).set(new NodeLoad(2, 8, 0.3, 100, 20, 50_000, 6));
        await().atMost(Duration.ofSeconds(5)).until(() -> members.get(0).registry().find("n1")
                .map(n -> n.load().freeSlots() == 0).orElse(false) && members.get(0).registry().find("n2")
                .map(n -> n.load().freeSlots() == 6).orElse(false));
        int startedOnN1 = executors.get(1).started.get();
        RecordingListener client = new RecordingListener();
        members.get(0).dispatcher().submit(request(members.get(0), 3, null, List.of("worker")), client);
        await().atMost(Duration.ofSeconds(10)).until(client::ended);
        assertThat(client.finishedBy).isEqualTo("n2");
        assertThat(executors.get(1).started).hasValue(startedOnN1);
    }

    @Test
    void anInteractiveRequestIsPlacedBeforeBatchLinesThatWaitedLonger() throws InterruptedException {
        for (AtomicReference<NodeLoad> load : loads) { // every engine's waiting queue is full
            load.set(new NodeLoad(16, 8, 0.3, 400, 20, 10, 0));
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> members.get(0).registry().nodes().stream()
                .allMatch(n -> n.load().freeSlots() == 0));
        List<QueuedRequest> lines = new ArrayList<>();
        List<RecordingListener> lineClients = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            QueuedRequest line = request(members.get(1), 2, null, List.of()).ordered(true, 0, "batch-owner");
            RecordingListener lineClient = new RecordingListener();
            members.get(1).dispatcher().submit(line, lineClient);
            lines.add(line);
            lineClients.add(lineClient);
        }
        QueuedRequest chat = request(members.get(2), 2, null, List.of()).ordered(false, 0, "someone");
        RecordingListener client = new RecordingListener();
        members.get(2).dispatcher().submit(chat, client);
        Thread.sleep(1000); // a few sweeps: the leader knows all thirteen, whatever its notices did

        loads.get(0).set(new NodeLoad(15, 8, 0.3, 400, 20, 10, 1)); // one slot on n0: one placement per sweep
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(2)).until(() -> {
            boolean chatPlaced = members.get(0).queue().get(chat.id()).state() != RequestState.PENDING;
            if (!chatPlaced) {
                assertThat(lines).as("batch lines placed before the interactive request")
                        .allMatch(l -> {
                            QueuedRequest entry = members.get(0).queue().get(l.id());
                            return entry != null && entry.state() == RequestState.PENDING;
                        });
            }
            return chatPlaced;
        });
        await().atMost(Duration.ofSeconds(10)).until(client::ended);
        assertThat(client.error).isNull();
        assertThat(client.finishedBy).isEqualTo("n0");
        loads.forEach(load -> load.set(NodeLoad.IDLE)); // the lines run now, and are gone before the next test
        await().atMost(Duration.ofSeconds(20)).until(() -> lineClients.stream().allMatch(RecordingListener::ended));
    }
}
