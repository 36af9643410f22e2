package org.autoglm.gossip;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.LongStream;
import org.autoglm.gossip.placement.Placement;
import org.autoglm.gossip.placement.PrefixSummary;
import org.autoglm.gossip.placement.RecentPlacements;
import org.autoglm.gossip.queue.QueuedRequest;
import org.autoglm.gossip.registry.NodeHealth;
import org.autoglm.gossip.registry.NodeInfo;
import org.autoglm.gossip.registry.NodeLoad;
import org.autoglm.gossip.registry.NodeView;
import org.junit.jupiter.api.Test;

/** Cache-aware placement on registry snapshots: the longest cached prefix wins within the load bound. */
class PrefixPlacementTest {

    /** A prompt of 8 blocks; a node "holds" the first {@code n} of them. */
    private static final long[] CHAIN = LongStream.rangeClosed(1, 8).map(i -> i * 0x9E3779B97F4A7C15L).toArray();

    private static NodeView node(String name, int cachedBlocks, long queuedTokens) {
        long[] held = java.util.Arrays.copyOf(CHAIN, cachedBlocks);
        NodeLoad load = new NodeLoad(0, 1, 0.2, 100, 10, queuedTokens, 100, 0, PrefixSummary.of(held, held.length));
        return new NodeView(new NodeInfo(UUID.nameUUIDFromBytes(name.getBytes()), name, "glm", "h", List.of(), "djl",
                "cpu", 8, 4096, null), load, NodeHealth.HEALTHY, false, 0);
    }

    private static QueuedRequest request() {
        return QueuedRequest.pending("r-" + UUID.randomUUID(), new byte[0], "glm", null, List.of(), 128, 16,
                UUID.randomUUID()).withPrefix(CHAIN);
    }

    @Test
    void theNodeHoldingTheLongestPrefixWinsWhenLoadsAreClose() {
        List<NodeView> nodes = List.of(node("cold", 0, 0), node("some", 3, 50), node("warm", 8, 100));
        Placement.Decision d = new Placement().place(request(), nodes, Map.of());
        assertThat(d.nodeName()).isEqualTo("warm");
        assertThat(d.reason()).contains("8 of 8 prompt blocks cached on warm");
    }

    @Test
    void aWarmNodeWithAQueueWinsOverAnIdleColdOneWhileItsQueueIsShorterThanThePromptItSaves() {
        // The prompt is 128 tokens: warm waits (300 queued + 16 to generate) / 100 tok/s = 3.2 s, cold (128 + 16) / 100
        // = 1.4 s; warm still wins. Counting the prompt it holds as work (4.4 s, over 2x + 1 s) sent it to cold.
        List<NodeView> nodes = List.of(node("cold", 0, 0), node("warm", 8, 300));
        Placement.Decision d = new Placement().place(request(), nodes, Map.of());
        assertThat(d.nodeName()).isEqualTo("warm");
        assertThat(d.reason()).contains("expected wait 3.16 s, best 1.44 s");
        // and load-only placement sends it to the idle node
        assertThat(new Placement(Placement.Options.DEFAULT, false).place(request(), nodes, Map.of()).nodeName())
                .isEqualTo("cold");
    }

    @Test
    void loadBoundsTheCacheScoreSoABusyNodeIsNotPiledOn() {
        // warm would wait 5,000 tokens / 100 tok/s = 50 s against 1.4 s on cold: far past 2x + 1 s.
        List<NodeView> nodes = List.of(node("cold", 0, 0), node("warm", 8, 5000));
        assertThat(new Placement().place(request(), nodes, Map.of()).nodeName()).isEqualTo("cold");
    }

    @Test
    void aHitAfterAMissDoesNotCountAndLoadOnlyPlacementIgnoresCaches() {
        long[] gap = {CHAIN[1], CHAIN[2], CHAIN[3]}; // holds blocks 2-4 but not block 1: unusable
        NodeLoad load = new NodeLoad(0, 1, 0.2, 100, 10, 0, 100, 0, PrefixSummary.of(gap, gap.length));
        assertThat(load.prefix().leadingHits(CHAIN)).isZero();
        List<NodeView> nodes = List.of(node("cold", 0, 0), node("warm", 8, 100));
        Placement loadOnly = new Placement(Placement.Options.DEFAULT, false);
        assertThat(loadOnly.place(request(), nodes, Map.of()).nodeName()).isEqualTo("cold");
    }

    @Test
    void aPromptPlacedMomentsAgoStaysOnItsNodeBeforeTheNodesSummaryShowsIt() {
        // Neither summary shows the prompt yet (its prefill has not run); "second" is a little busier.
        NodeView first = node("first", 0, 0);
        NodeView second = node("second", 0, 100);
        RecentPlacements recent = new RecentPlacements(30_000);
        long now = System.currentTimeMillis();
        recent.placed(second.id(), CHAIN, now);
        Placement.Decision d = new Placement().place(request(), List.of(first, second), Map.of(), Map.of(), recent);
        assertThat(d.nodeName()).isEqualTo("second");
        assertThat(d.reason()).contains("8 of 8 prompt blocks cached on second");

        RecentPlacements expired = new RecentPlacements(30_000);
        expired.placed(second.id(), CHAIN, now - 31_000);
        assertThat(new Placement().place(request(), List.of(first, second), Map.of(), Map.of(), expired).nodeName())
                .isEqualTo("first");
    }

    @Test
    void loadBoundsARememberedPlacementAsItBoundsASummary() {
        NodeView idle = node("idle", 0, 0);
        NodeView busy = node("busy", 0, 5000); // 50 s of queued work against 1.4 s
        RecentPlacements recent = new RecentPlacements(30_000);
        recent.placed(busy.id(), CHAIN, System.currentTimeMillis());
        assertThat(new Placement().place(request(), List.of(idle, busy), Map.of(), Map.of(), recent).nodeName())
                .isEqualTo("idle");
    }
}
