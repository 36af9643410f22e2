package org.autoglm.gossip;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.IntStream;
import org.autoglm.gossip.placement.Placement;
import org.autoglm.gossip.placement.RendezvousHash;
import org.autoglm.gossip.queue.QueuedRequest;
import org.autoglm.gossip.registry.NodeHealth;
import org.autoglm.gossip.registry.NodeInfo;
import org.autoglm.gossip.registry.NodeLoad;
import org.autoglm.gossip.registry.NodeView;
import org.junit.jupiter.api.Test;

/** Placement rules on registry snapshots, without a grid. */
class PlacementTest {

    private final Placement placement = new Placement();

    @Test
    void onlyHealthyNonDrainingNodesWithTheModelAndTagsAreCandidates() {
        List<NodeView> nodes = List.of(
                node("suspect", "glm", List.of("a100"), NodeHealth.SUSPECT, false, NodeLoad.IDLE),
                node("draining", "glm", List.of("a100"), NodeHealth.HEALTHY, true, NodeLoad.IDLE),
                node("other-model", "qwen", List.of("a100"), NodeHealth.HEALTHY, false, NodeLoad.IDLE),
                node("no-tag", "glm", List.of(), NodeHealth.HEALTHY, false, NodeLoad.IDLE),
                node("fit", "glm", List.of("a100", "eu"), NodeHealth.HEALTHY, false, busy(5000, 10)));
        assertThat(placement.place(request(null, "a100"), nodes, Map.of()).nodeName()).isEqualTo("fit");

        Placement.Decision none = placement.place(request(null, "h200"), nodes, Map.of());
        assertThat(none.placed()).isFalse();
        assertThat(none.reason()).contains("h200").contains("suspect: suspect").contains("draining: draining")
                .contains("other-model: serves qwen").contains("no-tag: tags []");
    }

    @Test
    void leastExpectedWaitWinsAmongNodesWithKvHeadroom() {
        NodeView slow = node("slow", "glm", List.of(), NodeHealth.HEALTHY, false, new NodeLoad(4, 8, 0.3, 50, 20, 2000));
        NodeView fast = node("fast", "glm", List.of(), NodeHealth.HEALTHY, false, new NodeLoad(4, 8, 0.3, 400, 20, 4000));
        NodeView full = node("full", "glm", List.of(), NodeHealth.HEALTHY, false, new NodeLoad(0, 1, 0.97, 400, 20, 0));
        Placement.Decision decision = placement.place(request(null), List.of(slow, fast, full), Map.of());
        assertThat(decision.nodeName()).isEqualTo("fast"); // 4000/400 = 10 s beats 2000/50 = 40 s; full has no KV room
        assertThat(decision.reason()).contains("least expected wait on fast");

        // Work assigned since fast's last heartbeat counts against it.
        Map<UUID, Long> assigned = new HashMap<>(Map.of(fast.id(), 20_000L));
        assertThat(placement.place(request(null), List.of(slow, fast, full), assigned).nodeName()).isEqualTo("slow");
    }

    @Test
    void anAnomalousNodeIsWeighedDownButStillUsedWhenTheOthersAreFarBusier() {
        NodeView odd = node("odd", "glm", List.of(), NodeHealth.HEALTHY, false,
                new NodeLoad(1, 2, 0.3, 100, 20, 1000, 100, 0, true));
        NodeView even = node("even", "glm", List.of(), NodeHealth.HEALTHY, false,
                new NodeLoad(1, 2, 0.3, 100, 20, 2000, 100, 0, false));
        assertThat(placement.place(request(null), List.of(odd, even), Map.of()).nodeName()).isEqualTo("even");
        NodeView swamped = node("swamped", "glm", List.of(), NodeHealth.HEALTHY, false,
                new NodeLoad(1, 2, 0.3, 100, 20, 20_000, 100, 0, false));
        assertThat(placement.place(request(null), List.of(odd, swamped), Map.of()).nodeName()).isEqualTo("odd");
    }

    @Test
    void aSessionStaysOnItsNodeUntilThatNodeIsOverloaded() {
        List<NodeView> nodes = new ArrayList<>();
        IntStream.range(0, 4).forEach(i ->
                nodes.add(node("n" + i, "glm", List.of(), NodeHealth.HEALTHY, false, busy(100, 100))));
        String home = placement.place(request("s-1"), nodes, Map.of()).nodeName();
        for (int turn = 0; turn < 5; turn++) {
            Placement.Decision decision = placement.place(request("s-1"), nodes, Map.of());
            assertThat(decision.nodeName()).isEqualTo(home);
            assertThat(decision.reason()).contains("lives on " + home);
        }
        int index = Integer.parseInt(home.substring(1));
        nodes.set(index, node(home, "glm", List.of(), NodeHealth.HEALTHY, false, busy(100_000, 100)));
        nodes.set(index, new NodeView(nodes.get(index).info(), busy(100_000, 100), NodeHealth.HEALTHY, false, 0));
        Placement.Decision moved = placement.place(request("s-1"), nodes, Map.of());
        assertThat(moved.nodeName()).isNotEqualTo(home);
        assertThat(moved.reason()).contains("moved off " + home);
    }

    @Test
    void turnsAssignedBetweenHeartbeatsDoNotMoveASessionOffAnIdleNode() {
        // Idle nodes report no throughput; the home node has three turns assigned since its last heartbeat.
        List<NodeView> nodes = new ArrayList<>();
        IntStream.range(0, 3).forEach(i -> nodes.add(node("n" + i, "glm", List.of(), NodeHealth.HEALTHY, false, NodeLoad.IDLE)));
        Placement.Decision first = placement.place(request("s-1"), nodes, Map.of());
        Map<UUID, Long> assigned = Map.of(first.node(), 3 * request("s-1").expectedTokens());
        Placement.Decision later = placement.place(request("s-1"), nodes, assigned);
        assertThat(later.nodeName()).isEqualTo(first.nodeName());
        assertThat(later.reason()).contains("lives on " + first.nodeName());
    }

    @Test
    void aNewNodeIsAssumedAsFastAsItsPeersNotSlow() {
        NodeView busyFast = node("fast", "glm", List.of(), NodeHealth.HEALTHY, false, busy(4000, 400)); // 10 s of work
        NodeView busyMedium = node("medium", "glm", List.of(), NodeHealth.HEALTHY, false, busy(3000, 200)); // 15 s
        NodeView fresh = node("fresh", "glm", List.of(), NodeHealth.HEALTHY, false, NodeLoad.IDLE);
        assertThat(placement.place(request(null), List.of(busyFast, busyMedium, fresh), Map.of()).nodeName()).isEqualTo("fresh");
        // Assumed at the median of its peers (400 tok/s here), 5,000 tokens just assigned to it are 12.5 s of wait.
        Map<UUID, Long> assigned = Map.of(fresh.id(), 5000L);
        assertThat(placement.place(request(null), List.of(busyFast, busyMedium, fresh), assigned).nodeName()).isEqualTo("fast");
    }

    @Test
    void consistentHashingMovesOnlyTheSessionsOfANodeThatLeaves() {
        List<UUID> nodes = IntStream.range(0, 5).mapToObj(i -> UUID.randomUUID()).toList();
        Map<String, UUID> before = new HashMap<>();
        for (int s = 0; s < 2000; s++) {
            before.put("session-" + s, RendezvousHash.owner("session-" + s, nodes));
        }
        UUID leaving = nodes.get(2);
        List<UUID> after = nodes.stream().filter(n -> !n.equals(leaving)).toList();
        int moved = 0;
        for (var entry : before.entrySet()) {
            UUID owner = RendezvousHash.owner(entry.getKey(), after);
            if (!entry.getValue().equals(leaving)) {
                assertThat(owner).isEqualTo(entry.getValue());
            } else {
                moved++;
            }
        }
        // Each of 5 nodes owns about a fifth of the sessions.
        assertThat(moved).isBetween(300, 500);
    }

    private static NodeLoad busy(long queuedTokens, double tokensPerSecond) {
        return new NodeLoad(1, 1, 0.2, tokensPerSecond, 10, queuedTokens);
    }

    private static NodeView node(String name, String model, List<String> tags, NodeHealth health, boolean draining,
                                 NodeLoad load) {
        NodeInfo info = new NodeInfo(UUID.nameUUIDFromBytes(name.getBytes()), name, model, "h", tags, "djl", "CPU",
                8, 4096, "http://" + name);
        return new NodeView(info, load, health, draining, 0);
    }

    private static QueuedRequest request(String session, String... tags) {
        return QueuedRequest.pending("r", new byte[0], "glm", session, List.of(tags), 10, 10, UUID.randomUUID());
    }
}
