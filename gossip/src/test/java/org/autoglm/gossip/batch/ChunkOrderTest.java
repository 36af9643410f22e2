package org.autoglm.gossip.batch;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.autoglm.gossip.placement.PrefixSummary;
import org.junit.jupiter.api.Test;

/** The cluster's order between batch chunks: priority, then fair share between users, then prefix, then age. */
class ChunkOrderTest {

    private static final UUID SELF = UUID.randomUUID();
    private static final UUID OTHER = UUID.randomUUID();
    private static final long[] PREFIX_A = {11, 12, 13};
    private static final long[] PREFIX_B = {21, 22, 23};

    private static LineChunk chunk(String batch, int index, String user, int priority, long[] prefix) {
        return new LineChunk(batch, index, user, new int[] {index + 1}, new String[] {"line"}).ordered(priority, prefix, List.of());
    }

    private static List<String> keys(List<LineChunk> chunks) {
        return chunks.stream().map(LineChunk::key).toList();
    }

    @Test
    void aHigherPriorityBatchGoesFirstWhoeverSentIt() {
        LineChunk low = chunk("batch_low", 0, "alice", 0, new long[0]);
        LineChunk high = chunk("batch_high", 0, "bob", -5, new long[0]);
        List<LineChunk> order = new ChunkOrder().order(List.of(low, high), Map.of("bob", 3), SELF, Map.of(), Map.of(),
                now());
        assertThat(keys(order)).containsExactly(high.key(), low.key());
    }

    @Test
    void withinAPriorityTheUserWithLessRunningGoesFirstByWeight() {
        LineChunk alice = chunk("batch_a", 0, "alice", 0, new long[0]);
        LineChunk bob = chunk("batch_b", 7, "bob", 0, new long[0]);
        assertThat(keys(new ChunkOrder().order(List.of(alice, bob), Map.of("alice", 2, "bob", 1), SELF, Map.of(),
                Map.of(), now()))).containsExactly(bob.key(), alice.key());
        // Bob weighs a quarter: his one running chunk counts as four of alice's two.
        assertThat(keys(new ChunkOrder(Map.of("bob", 0.25)).order(List.of(alice, bob),
                Map.of("alice", 2, "bob", 1), SELF, Map.of(), Map.of(), now())))
                .containsExactly(alice.key(), bob.key());
    }

    @Test
    void aNodeTakesTheChunksWhosePrefixItHoldsAndLeavesOthersToTheirNodeForTheGrace() {
        LineChunk a = chunk("batch_x", 0, "alice", 0, PREFIX_A);
        LineChunk b = chunk("batch_x", 1, "alice", 0, PREFIX_B);
        LineChunk plain = chunk("batch_x", 2, "alice", 0, new long[0]);
        Map<UUID, PrefixSummary> summaries = Map.of(SELF, PrefixSummary.of(PREFIX_B, 3),
                OTHER, PrefixSummary.of(PREFIX_A, 3));
        assertThat(keys(new ChunkOrder().order(List.of(a, b, plain), Map.of(), SELF, summaries, Map.of(), now())))
                .as("its own prefix first, then one nobody holds; the one the other node holds is left to it")
                .containsExactly(b.key(), plain.key());
        assertThat(keys(new ChunkOrder().order(List.of(a, plain), Map.of(), OTHER, summaries, Map.of(), now())))
                .containsExactly(a.key(), plain.key());
        long later = now() + ChunkOrder.AFFINITY_GRACE_MILLIS + 1;
        assertThat(keys(new ChunkOrder().order(List.of(a, plain), Map.of(), SELF, summaries, Map.of(), later)))
                .as("past the grace a busy node's chunk goes to any node with room, oldest first")
                .containsExactly(a.key(), plain.key());
    }

    @Test
    void fairShareComesBeforeThePrefix() {
        LineChunk mineButBusyUser = chunk("batch_a", 0, "alice", 0, PREFIX_A);
        LineChunk otherUser = chunk("batch_b", 0, "bob", 0, new long[0]);
        Map<UUID, PrefixSummary> summaries = Map.of(SELF, PrefixSummary.of(PREFIX_A, 3));
        assertThat(keys(new ChunkOrder().order(List.of(mineButBusyUser, otherUser), Map.of("alice", 1), SELF,
                summaries, Map.of(), now()))).containsExactly(otherUser.key(), mineButBusyUser.key());
    }

    @Test
    void amongEqualSharesTheUserServedLeastRecentlyHereGoesFirst() {
        LineChunk older = chunk("batch_a", 0, "alice", 0, new long[0]);
        LineChunk newer = chunk("batch_b", 0, "bob", 0, new long[0]);
        assertThat(keys(new ChunkOrder().order(List.of(older, newer), Map.of(), SELF, Map.of(), Map.of("alice", 5L),
                now()))).containsExactly(newer.key(), older.key());
        assertThat(keys(new ChunkOrder().order(List.of(older, newer), Map.of(), SELF, Map.of(),
                Map.of("alice", 5L, "bob", 6L), now()))).containsExactly(older.key(), newer.key());
    }

    private static long now() {
        return System.currentTimeMillis();
    }
}
