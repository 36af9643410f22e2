package org.autoglm.gossip.limits;

import java.io.Serializable;
import javax.cache.processor.EntryProcessor;
import javax.cache.processor.MutableEntry;
import org.apache.ignite.IgniteCache;
import org.apache.ignite.cache.CacheAtomicityMode;
import org.autoglm.gossip.grid.GridCaches;
import org.autoglm.gossip.grid.GridNode;

/**
 * Per-user request and token budgets per minute, counted cluster-wide: one token bucket per user in a grid cache,
 * refilled continuously at limit / 60 s and changed atomically where it lives (an entry processor), so every node
 * draws from the same bucket and two nodes cannot both spend its last request.
 */
public final class RateLimits {

    /** What a check found: allowed or not, and what OpenAI's {@code x-ratelimit-*} headers report. */
    public record Decision(boolean allowed, long limitRequests, long remainingRequests, long resetRequestsMillis,
                           long limitTokens, long remainingTokens, long resetTokensMillis, long retryAfterMillis) {}

    private final java.util.function.Supplier<GridNode> grid;
    /** Changed live by {@code reload-config}; a bucket filled under other limits starts again full. */
    private volatile long requestsPerMinute;
    private volatile long tokensPerMinute;

    /** @param requestsPerMinute 0: no request limit; @param tokensPerMinute 0: no token limit */
    /** @param grid the current grid node (a rejoin replaces it), asked on every check */
    public RateLimits(java.util.function.Supplier<GridNode> grid, long requestsPerMinute, long tokensPerMinute) {
        this.grid = grid;
        this.requestsPerMinute = requestsPerMinute;
        this.tokensPerMinute = tokensPerMinute;
        if (enabled()) {
            buckets(); // made at start when limits are set; a cache made later costs a grid-wide exchange then
        }
    }

    private IgniteCache<String, Bucket> buckets() {
        IgniteCache<String, Bucket> cache = grid.get().ignite().cache(GridCaches.RATE_LIMITS);
        return cache != null ? cache : grid.get().ignite().getOrCreateCache(GridCaches.<String, Bucket>partitioned(
                GridCaches.RATE_LIMITS, CacheAtomicityMode.ATOMIC));
    }

    public boolean enabled() {
        return requestsPerMinute > 0 || tokensPerMinute > 0;
    }

    /** New limits from now on (0: none); each user's budget restarts full under them. */
    public void setLimits(long requestsPerMinute, long tokensPerMinute) {
        if (requestsPerMinute < 0 || tokensPerMinute < 0) {
            throw new IllegalArgumentException("rate limits are 0 (none) or more per minute");
        }
        this.requestsPerMinute = requestsPerMinute;
        this.tokensPerMinute = tokensPerMinute;
    }

    public long requestsPerMinute() {
        return requestsPerMinute;
    }

    public long tokensPerMinute() {
        return tokensPerMinute;
    }

    /** Takes one request and {@code tokens} tokens from {@code user}'s budget, or nothing when either is short. */
    public Decision acquire(String user, long tokens) {
        long[] d = buckets().invoke(user, new Take(requestsPerMinute, tokensPerMinute, tokens, System.currentTimeMillis()));
        return new Decision(d[0] == 1, d[1], d[2], d[3], d[4], d[5], d[6], d[7]);
    }

    /** One user's two buckets; a plain class for the binary marshaller. */
    static final class Bucket implements Serializable {
        private static final long serialVersionUID = 1L;
        double requests;
        double tokens;
        long refilledAtMillis;
        /** The limits it was filled under. */
        long requestLimit;
        long tokenLimit;
    }

    /** Runs on the node that holds the user's bucket; answers a {@link Decision}'s fields (records do not cross the grid). */
    static final class Take implements EntryProcessor<String, Bucket, long[]>, Serializable {
        private static final long serialVersionUID = 1L;
        private long requestLimit;
        private long tokenLimit;
        private long tokens;
        private long nowMillis;

        Take(long requestLimit, long tokenLimit, long tokens, long nowMillis) {
            this.requestLimit = requestLimit;
            this.tokenLimit = tokenLimit;
            this.tokens = tokens;
            this.nowMillis = nowMillis;
        }

        @Override
        public long[] process(MutableEntry<String, Bucket> entry, Object... args) {
            Bucket b = entry.getValue();
            if (b == null || b.requestLimit != requestLimit || b.tokenLimit != tokenLimit) {
                b = new Bucket();
                b.requestLimit = requestLimit;
                b.tokenLimit = tokenLimit;
                b.requests = requestLimit;
                b.tokens = tokenLimit;
                b.refilledAtMillis = nowMillis;
            }
            double minutes = Math.max(0, nowMillis - b.refilledAtMillis) / 60_000.0;
            b.requests = Math.min(requestLimit, b.requests + minutes * requestLimit);
            b.tokens = Math.min(tokenLimit, b.tokens + minutes * tokenLimit);
            b.refilledAtMillis = Math.max(b.refilledAtMillis, nowMillis);
            boolean requestOk = requestLimit == 0 || b.requests >= 1;
            // A request larger than the whole budget is let through when the bucket is full, or it could never run.
            boolean tokenOk = tokenLimit == 0 || b.tokens >= Math.min(tokens, tokenLimit);
            long retry = 0;
            if (requestOk && tokenOk) {
                b.requests -= requestLimit == 0 ? 0 : 1;
                b.tokens -= tokenLimit == 0 ? 0 : tokens;
            } else {
                retry = Math.max(requestOk ? 0 : refillMillis(1 - b.requests, requestLimit),
                        tokenOk ? 0 : refillMillis(Math.min(tokens, tokenLimit) - b.tokens, tokenLimit));
            }
            entry.setValue(b);
            return new long[] {requestOk && tokenOk ? 1 : 0, requestLimit, (long) Math.max(0, Math.floor(b.requests)),
                    refillMillis(requestLimit - b.requests, requestLimit), tokenLimit,
                    (long) Math.max(0, Math.floor(b.tokens)), refillMillis(tokenLimit - b.tokens, tokenLimit), retry};
        }

        /** Time for a bucket refilled at {@code limit} per minute to gain {@code missing}. */
        private static long refillMillis(double missing, long limit) {
            return limit == 0 || missing <= 0 ? 0 : (long) Math.ceil(missing * 60_000.0 / limit);
        }
    }
}
