package org.autoglm.gossip;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.autoglm.gossip.grid.GridNode;
import org.autoglm.gossip.limits.RateLimits;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Two real grid nodes drawing from the same per-user budgets. */
class RateLimitsTest {

    private static final int BASE = 14620 + Integer.getInteger("autoglm.test.portOffset", 0);
    static List<GridNode> grid;

    @BeforeAll
    static void start() {
        grid = TestGrid.start(BASE, 2, i -> GridNode.start(TestGrid.config("n" + i, BASE + i, BASE, 2)));
    }

    @AfterAll
    static void stop() {
        grid.forEach(GridNode::close);
    }

    @Test
    void requestsAreCountedAcrossNodesPerUser() {
        RateLimits a = new RateLimits(() -> grid.get(0), 3, 0);
        RateLimits b = new RateLimits(() -> grid.get(1), 3, 0);
        assertThat(a.acquire("alice", 10).allowed()).isTrue();
        assertThat(b.acquire("alice", 10).allowed()).isTrue();
        RateLimits.Decision third = a.acquire("alice", 10);
        assertThat(third.allowed()).isTrue();
        assertThat(third.remainingRequests()).isZero();
        RateLimits.Decision refused = b.acquire("alice", 10);
        assertThat(refused.allowed()).isFalse();
        // 3 per minute: one request comes back every 20 s.
        assertThat(refused.retryAfterMillis()).isBetween(1L, 20_000L);
        assertThat(b.acquire("bob", 10).allowed()).as("another user has a budget of their own").isTrue();
    }

    @Test
    void tokensAreCountedAndAnOversizedRequestWaitsForAFullBucket() {
        RateLimits a = new RateLimits(() -> grid.get(0), 0, 1000);
        RateLimits b = new RateLimits(() -> grid.get(1), 0, 1000);
        assertThat(a.acquire("carol", 600).allowed()).isTrue();
        RateLimits.Decision refused = b.acquire("carol", 600);
        assertThat(refused.allowed()).isFalse();
        // 400 left, plus what a loaded machine's pause between the calls refilled (1000 per minute = 17 per second).
        assertThat(refused.remainingTokens()).isBetween(400L, 599L);
        assertThat(refused.retryAfterMillis()).isBetween(1L, 12_000L); // at most 200 tokens at 1000 per minute
        assertThat(a.acquire("dave", 5000).allowed()).as("larger than the budget: runs on a full bucket").isTrue();
        assertThat(a.acquire("dave", 1).allowed()).isFalse();
    }
}
