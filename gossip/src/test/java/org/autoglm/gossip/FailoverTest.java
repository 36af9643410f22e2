package org.autoglm.gossip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.autoglm.gossip.TaggedMembers.request;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.stream.IntStream;
import org.apache.ignite.spi.discovery.tcp.TcpDiscoverySpi;
import org.autoglm.gossip.grid.GridCaches;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Losing a node on a three-member cluster on loopback (a fresh cluster per test): a stream whose executing node
 * crashes continues elsewhere from the restart point, and a session outlives the node that held it.
 * The members' tags are {@link TaggedMembers}'.
 */
class FailoverTest {

    private static final int BASE = 27680 + Integer.getInteger("autoglm.test.portOffset", 0);
    private static final int SIZE = TaggedMembers.SIZE;

    private List<Cluster> members;
    private List<CountingExecutor> executors;

    @BeforeEach
    void start() {
        TaggedMembers cluster = TaggedMembers.start(BASE);
        members = cluster.members();
        executors = cluster.executors();
    }

    @AfterEach
    void stop() {
        members.forEach(m -> {
            try {
                m.close();
            } catch (RuntimeException ignored) {
                // a member crashed on purpose is already half gone
            }
        });
    }

    @Test
    void aStreamContinuesFromTheRestartPointWhenItsNodeDies() {
        RecordingListener client = new RecordingListener();
        members.get(0).dispatcher().submit(request(members.get(0), 80, null, List.of("worker")), client);
        await().atMost(Duration.ofSeconds(10)).until(() -> client.tokens.size() >= 10);
        int victim = executors.get(1).started.get() > 0 ? 1 : 2;
        executors.get(victim).crash();
        ((TcpDiscoverySpi) members.get(victim).grid().ignite().configuration().getDiscoverySpi()).simulateNodeFailure();

        await().atMost(Duration.ofSeconds(20)).until(client::ended);
        assertThat(client.error).isNull();
        assertThat(client.finishedBy).isEqualTo("n" + (3 - victim));
        assertThat(client.tokens).containsExactlyElementsOf(IntStream.rangeClosed(1, 80).boxed().toList());
        assertThat(client.ends).hasValue(1);
    }

    @Test
    void aSessionSurvivesTheNodeThatHeldIt() {
        members.get(0).sessions().put("s-1", "alice", new byte[] {1, 2, 3}, Duration.ofMinutes(5));
        int primary = IntStream.range(0, SIZE).filter(i -> members.get(i).grid().localId().equals(
                members.get(0).grid().ignite().affinity(GridCaches.SESSIONS).mapKeyToNode("s-1").id()))
                .findFirst().orElseThrow();
        members.get(primary).close();
        Cluster reader = members.get((primary + 1) % SIZE);
        assertThat(reader.sessions().update("s-1", old -> new byte[] {old[0], old[1], old[2], 4}))
                .hasValueSatisfying(data -> assertThat(data).containsExactly(1, 2, 3, 4));
        assertThat(members.get((primary + 2) % SIZE).sessions().get("s-1"))
                .hasValueSatisfying(data -> assertThat(data).containsExactly(1, 2, 3, 4));
        assertThat(reader.sessions().countOwnedBy("alice")).as("the owner survives updates and failover").isEqualTo(1);
    }

    @Test
    void anAssignmentItsNodeNeverStartsGoesBackToTheQueue() throws Exception {
        // n2 stays in the grid but stops taking assignments (as after claims that failed for good); only n2 is "big".
        members.get(2).worker().close();
        RecordingListener client = new RecordingListener();
        members.get(0).dispatcher().submit(request(members.get(0), 3, null, List.of("big")), client);
        // Each assignment is taken back after claimTimeout (1 s in tests) and placed again, until the attempts run out.
        await().atMost(Duration.ofSeconds(30)).until(client::ended);
        assertThat(client.error).contains("attempts").contains("did not start it");
        assertThat(client.tokens).isEmpty();
    }
}
