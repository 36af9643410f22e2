package org.autoglm.gossip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.autoglm.gossip.grid.GridUnavailable;
import org.autoglm.gossip.queue.QueuedRequest;
import org.autoglm.gossip.registry.NodeInfo;
import org.autoglm.gossip.registry.NodeLoad;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Sessions and queued requests outlive two of three members restarting their grid nodes at once. The pause-only fault
 * run's seed 27: the ring broke around a paused node, a second node lost its majority, both restarted their grid
 * nodes, and the sessions whose primary and backup copies were on those two were gone (the caches kept one backup; the
 * request queue too). Every member now holds a copy of each, so one member that kept its grid node keeps them all.
 * Grid ports 29420-29422 (+ the offset).
 */
class GridStateAcrossRestartsTest {

    private static final int BASE = TestGrid.offsetPort(29420, 3);
    private static final int SIZE = 3;
    private static final int SESSIONS = 48; // ~a third of them had both copies on the two restarted members
    private static final int REQUESTS = 24;

    private final List<Cluster> members = new ArrayList<>();

    @AfterEach
    void stop() {
        members.forEach(Cluster::close);
    }

    @Test
    void sessionsAndQueuedRequestsSurviveTwoOfThreeMembersRestartingTheirGridNodesTogether() {
        // The keeper does not rejoin by itself: alone, it would restart its own grid node too (no majority for a second).
        // One after the other: started at once on a loaded machine, members can miss each other's handshake.
        for (int i = 0; i < SIZE; i++) {
            members.add(start("r" + i, BASE + i, i > 0));
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> members.stream()
                .allMatch(member -> member.grid().visibleNodes() == SIZE));
        for (int i = 0; i < SESSIONS; i++) {
            members.get(i % SIZE).sessions().put("s" + i, "u", ("turns of s" + i).getBytes(StandardCharsets.UTF_8),
                    Duration.ofMinutes(10));
        }
        List<String> requests = new ArrayList<>();
        for (int i = 0; i < REQUESTS; i++) {
            QueuedRequest request = TaggedMembers.request(members.get(0), 10, null, List.of());
            members.get(i % SIZE).queue().enqueue(request);
            requests.add(request.id());
        }

        List<UUID> before = List.of(members.get(1).grid().localId(), members.get(2).grid().localId());
        CompletableFuture.allOf(
                CompletableFuture.runAsync(() -> members.get(1).grid().ignite().close()),
                CompletableFuture.runAsync(() -> members.get(2).grid().ignite().close())).join();
        await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() ->
                !before.contains(members.get(1).grid().localId()) && !before.contains(members.get(2).grid().localId())
                        && members.stream().allMatch(member -> member.grid().running()
                        && member.grid().visibleNodes() == SIZE));

        await().atMost(Duration.ofSeconds(30)).ignoreExceptions().untilAsserted(() -> {
            for (Cluster member : members) {
                for (int i = 0; i < SESSIONS; i++) {
                    assertThat(member.sessions().get("s" + i).map(data -> new String(data, StandardCharsets.UTF_8)))
                            .as("session s%d on %s", i, member.grid().name()).hasValue("turns of s" + i);
                }
                for (String id : requests) {
                    assertThat(member.queue().get(id)).as("request %s on %s", id, member.grid().name()).isNotNull();
                }
            }
        });
    }

    /**
     * Seed 6 of the same run: a node woken alone (its grid view held only itself until its grid node stopped) saved a
     * turn there and answered it as saved; the turn was gone once it rejoined on a fresh grid node. A member without a
     * majority now refuses to change sessions, with a failure the routes answer as 503.
     */
    @Test
    void aMemberWithoutAMajorityChangesNoSession() {
        for (int i = 0; i < SIZE; i++) {
            members.add(start("r" + i, BASE + i, false));
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> members.stream()
                .allMatch(member -> member.grid().visibleNodes() == SIZE));
        Cluster alone = members.get(0);
        alone.sessions().put("kept", "u", "before".getBytes(StandardCharsets.UTF_8), Duration.ofMinutes(10));

        CompletableFuture.allOf(
                CompletableFuture.runAsync(() -> members.get(1).grid().ignite().close()),
                CompletableFuture.runAsync(() -> members.get(2).grid().ignite().close())).join();
        await().atMost(Duration.ofSeconds(30)).until(() -> alone.grid().visibleNodes() == 1);

        assertThatThrownBy(() -> alone.sessions().update("kept", data -> "after".getBytes(StandardCharsets.UTF_8)))
                .satisfies(e -> assertThat(GridUnavailable.find(e)).as("a failure answered as 503").isNotNull());
        assertThatThrownBy(() -> alone.sessions().put("new", "u", new byte[1], Duration.ofMinutes(10)))
                .satisfies(e -> assertThat(GridUnavailable.find(e)).isNotNull());
        assertThat(alone.sessions().get("kept").map(data -> new String(data, StandardCharsets.UTF_8)))
                .hasValue("before");
    }

    private static Cluster start(String name, int port, boolean rejoin) {
        NodeInfo self = new NodeInfo(null, name, "glm-test", "h", List.of(), "djl", "CPU", 8, 128, "http://127.0.0.1:0");
        return Cluster.start(TestGrid.config(name, port, BASE, SIZE).andThen(c -> {
            c.rejoin = rejoin;
            c.failureDetection = Duration.ofSeconds(4); // no spurious drops under load: the restarts are the test's own
        }), self, () -> NodeLoad.IDLE);
    }
}
