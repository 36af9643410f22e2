package org.autoglm.node.api;

import io.javalin.http.Context;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.autoglm.gossip.limits.RateLimits;
import org.autoglm.node.engine.GenerationRequest;

/**
 * {@code --rate-limit-requests} and {@code --rate-limit-tokens}: each inference request takes one request and its
 * prompt plus {@code max_tokens} tokens from its user's per-minute budget, counted cluster-wide. Every answer carries
 * OpenAI's {@code x-ratelimit-*} headers; over the limit the answer is 429 with {@code Retry-After}.
 */
final class RateLimitCheck {

    private final RateLimits limits;

    RateLimitCheck(RateLimits limits) {
        this.limits = limits;
    }

    /** @throws ApiError 429 when the caller's budget cannot pay for {@code requests} */
    void check(Context ctx, String user, List<GenerationRequest> requests) {
        if (limits == null || !limits.enabled()) {
            return;
        }
        long tokens = 0;
        for (GenerationRequest r : requests) {
            tokens += r.promptIds().length + (long) r.params().maxTokens();
        }
        RateLimits.Decision d = limits.acquire(user, tokens);
        Map<String, String> headers = headers(d);
        if (!d.allowed()) {
            long retrySeconds = Math.max(1, (d.retryAfterMillis() + 999) / 1000);
            headers.put("Retry-After", Long.toString(retrySeconds));
            boolean requestsShort = d.limitRequests() > 0 && d.remainingRequests() < 1;
            throw new ApiError(429, "rate_limit_error", null, "rate_limit_exceeded", "Rate limit reached for '" + user
                    + "': " + (requestsShort ? d.limitRequests() + " requests per minute"
                    : d.limitTokens() + " tokens per minute (this request needs " + tokens + ": prompt plus max_tokens)")
                    + " across the cluster. Retry in " + retrySeconds + " s.", headers);
        }
        headers.forEach(ctx::header);
    }

    private static Map<String, String> headers(RateLimits.Decision d) {
        Map<String, String> h = new LinkedHashMap<>();
        if (d.limitRequests() > 0) {
            h.put("x-ratelimit-limit-requests", Long.toString(d.limitRequests()));
            h.put("x-ratelimit-remaining-requests", Long.toString(d.remainingRequests()));
            h.put("x-ratelimit-reset-requests", duration(d.resetRequestsMillis()));
        }
        if (d.limitTokens() > 0) {
            h.put("x-ratelimit-limit-tokens", Long.toString(d.limitTokens()));
            h.put("x-ratelimit-remaining-tokens", Long.toString(d.remainingTokens()));
            h.put("x-ratelimit-reset-tokens", duration(d.resetTokensMillis()));
        }
        return h;
    }

    /** OpenAI's form: {@code 1m30s}, {@code 6s}, {@code 120ms}. */
    static String duration(long millis) {
        if (millis < 1000) {
            return millis + "ms";
        }
        long seconds = (millis + 999) / 1000;
        return seconds >= 60 ? seconds / 60 + "m" + seconds % 60 + "s" : seconds + "s";
    }
}
