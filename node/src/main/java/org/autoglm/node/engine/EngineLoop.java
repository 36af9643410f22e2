package org.autoglm.node.engine;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.autoglm.models.sampling.TokenLogprobs;
import org.autoglm.node.engine.kv.KvCacheManager;
import org.autoglm.node.engine.runner.ModelRunner;
import org.autoglm.node.engine.runner.StepInFlight;
import org.autoglm.node.engine.runner.StepResult;
import org.autoglm.node.engine.scheduler.Scheduler;
import org.autoglm.node.engine.scheduler.SchedulerOutput;
import org.autoglm.node.engine.scheduler.Sequence;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One engine step is three calls: {@code schedule()}, {@code execute(plan)}, {@code update(plan, result)}
 * (vLLM's {@code EngineCore.step}); then each request that got a token hears about it. Also applies the
 * lifecycle: cancellation, deadlines, stop conditions, failures that belong to a single request.
 *
 * <p>With a backend that {@linkplain ModelRunner#runsAhead runs ahead}, the steps overlap (asynchronous scheduling,
 * as in vLLM): step n+1 is planned and submitted while the backend still computes step n, and step n's tokens are
 * delivered after that. A sequence drawn on the device enters step n+1 before its step-n token is known; stop
 * conditions (EOS, stop strings, max_tokens, deadlines) are applied when the token arrives, one step late, and the
 * token its extra step drew is discarded. The client sees the same tokens as with synchronous steps.
 *
 * <p>Confined to the engine thread: {@link Engine} hands it work through its inbox.
 */
final class EngineLoop {

    private static final Logger log = LoggerFactory.getLogger(EngineLoop.class);

    private final Scheduler scheduler;
    private final ModelRunner runner;
    private final EngineStats stats;
    private final int[] eosTokenIds;
    private final int maxModelLen;
    private final Runnable onRequestStarted;
    private final Map<Long, RequestState> bySequence = new HashMap<>();
    private long cachedHashesAt;
    private final Map<String, RequestState> byRequest = new HashMap<>();
    /** The step submitted and not yet delivered (asynchronous scheduling), or null. */
    private StepInFlight inFlight;

    EngineLoop(Scheduler scheduler, ModelRunner runner, EngineStats stats, int[] eosTokenIds, int maxModelLen,
            Runnable onRequestStarted) {
        this.scheduler = scheduler;
        this.runner = runner;
        this.stats = stats;
        this.eosTokenIds = eosTokenIds.clone();
        this.maxModelLen = maxModelLen;
        this.onRequestStarted = onRequestStarted;
    }

    boolean hasWork() {
        return scheduler.hasWork() || inFlight != null;
    }

    /** See {@link Scheduler#holdBatchLines}. */
    void holdBatchLines(long untilNanos) {
        scheduler.holdBatchLines(untilNanos);
    }

    /**
     * How long the engine may sleep: batch lines are held for an interactive request on its way and no interactive
     * work is here to run; 0 otherwise.
     */
    long batchLinesHeldNanos() {
        return inFlight == null && !scheduler.hasInteractiveWork() ? scheduler.batchLinesHeldNanos(System.nanoTime()) : 0;
    }

    int numActive() {
        return byRequest.size();
    }

    void add(RequestState r) {
        bySequence.put(r.sequence.id(), r);
        byRequest.put(r.request.id(), r);
        scheduler.add(r.sequence);
        forcedAtStart(r);
        publishGauges();
    }

    /**
     * Jump-forward before the first step: text the output grammar forces from its start (or, after a failover, from
     * where the delivered output left it) joins the output at once and is computed with the prompt.
     */
    private void forcedAtStart(RequestState r) {
        if (r.sequence.grammar() == null) return;
        int[] forced;
        try {
            forced = r.sequence.grammar().forcedTokens(r.request.params().maxTokens());
        } catch (RuntimeException e) {
            finish(r, FinishReason.ERROR, "the output grammar failed: " + e.getMessage());
            return;
        }
        if (forced.length == 0) return;
        scheduler.appendForced(r.sequence, forced);
        long now = System.nanoTime();
        for (int i = 0; i < forced.length && byRequest.containsKey(r.request.id()); i++) {
            deliver(r, forced[i], null, now);
        }
    }

    /** Cancels a request; its blocks are freed now. False if it is unknown or already finished. */
    boolean cancel(String requestId) {
        RequestState r = byRequest.get(requestId);
        if (r == null) return false;
        finish(r, FinishReason.CANCELLED, null);
        publishGauges();
        return true;
    }

    /** Cancels every request (the engine is closing). */
    void cancelAll() {
        for (RequestState r : new ArrayList<>(byRequest.values())) finish(r, FinishReason.CANCELLED, null);
    }

    /** One iteration. Does nothing (quickly) when there is no work. */
    void step() {
        long start = System.nanoTime();
        expireDeadlines(start);
        if (inFlight != null && !runner.canPlanPast(inFlight)) { // its tokens are needed to plan the next step
            StepInFlight last = inFlight;
            inFlight = null;
            deliver(last, start);
        }
        SchedulerOutput plan = scheduler.schedule();
        for (Sequence s : plan.outOfMemory()) {
            RequestState r = bySequence.get(s.id());
            log.warn("request {} stopped at {} tokens: the KV cache cannot hold it any longer", s.requestId(), s.numTokens());
            if (r != null) finish(r, FinishReason.LENGTH, null);
        }
        if (plan.isEmpty()) {
            if (inFlight != null) {
                StepInFlight last = inFlight;
                inFlight = null;
                deliver(last, start);
            }
            publishGauges();
            return;
        }
        markStarted(plan, start);

        if (!runner.runsAhead()) {
            deliver(runner.submit(plan), start);
            return;
        }
        StepInFlight next = runner.submit(plan); // the plan's tokens are copied out: planAhead may append to them
        scheduler.planAhead(plan, this::drawnAhead);
        StepInFlight last = inFlight;
        inFlight = next;
        if (last != null) deliver(last, start);
    }

    /**
     * Whether a sequence's next step may be planned before its newest token is read: it is drawn on the device, and
     * that token leaves room for another (max_tokens, the model length); an EOS or stop string is only seen later.
     */
    private boolean drawnAhead(Sequence s) {
        return runner.drawsOnDevice(s) && s.numOutputTokens() + 1 < s.params().maxTokens()
                && s.numTokens() + 1 < maxModelLen;
    }

    /** Reads a submitted step's result, applies it, and gives each request its tokens. */
    private void deliver(StepInFlight step, long start) {
        SchedulerOutput plan = step.plan();
        StepResult result = runner.complete(step);
        scheduler.update(plan, result.sampledIds());
        for (int i = 0; i < plan.size(); i++) {
            if (result.forced()[i] != null && result.sampledIds()[i] >= 0) {
                scheduler.appendForced(plan.sequence(i), result.forced()[i]);
            }
        }

        int generated = 0;
        long now = System.nanoTime();
        for (int i = 0; i < plan.size(); i++) {
            RequestState r = bySequence.get(plan.sequenceId(i));
            if (r == null || r.sequence != plan.sequence(i)) continue; // finished while the step ran: discarded
            int sampled = result.sampledIds()[i];
            if (sampled == Scheduler.FAILED) {
                finish(r, FinishReason.ERROR, result.errors()[i]);
            } else if (sampled >= 0) {
                generated++;
                deliver(r, sampled, result.logprobs()[i], now);
                int[] forced = result.forced()[i];
                for (int j = 0; forced != null && j < forced.length && byRequest.containsKey(r.request.id()); j++) {
                    generated++;
                    deliver(r, forced[j], null, now); // jump-forward: no forward step of their own
                }
            }
        }
        long end = System.nanoTime();
        stats.recordStep(end, end - start, plan.size(), plan.numBatchedTokens(), generated, plan.preemptedIds().length);
        publishGauges();
    }

    private void markStarted(SchedulerOutput plan, long now) {
        for (int i = 0; i < plan.size(); i++) {
            RequestState r = bySequence.get(plan.sequenceId(i));
            if (r != null && !r.started) {
                r.started = true;
                onRequestStarted.run();
                stats.recordQueueTime(now - r.submitNanos, r.sequence.numPromptTokens());
                try {
                    r.listener.onScheduled();
                } catch (RuntimeException e) {
                    log.warn("listener of request {} threw in onScheduled", r.request.id(), e);
                }
            }
        }
    }

    private void deliver(RequestState r, int token, TokenLogprobs logprobs, long now) {
        if (r.delivered == 0) {
            stats.recordTimeToFirstToken(now - r.submitNanos);
        } else {
            stats.recordInterTokenLatency(now - r.lastTokenNanos);
        }
        r.lastTokenNanos = now;
        RequestState.Step step;
        try {
            // A stop token that completes the output grammar ends the request even under ignore_eos: nothing may follow.
            boolean grammarDone = r.sequence.grammar() != null && r.sequence.grammar().isTerminated();
            boolean eos = (!r.request.params().ignoreEos() || grammarDone) && isEos(token);
            step = r.onToken(token, logprobs, eos, r.sequence.numKnownTokens() >= maxModelLen);
        } catch (RuntimeException e) {
            log.warn("detokenizing the output of request {} failed", r.request.id(), e);
            finish(r, FinishReason.ERROR, "detokenization failed: " + e.getMessage());
            return;
        }
        try {
            r.listener.onDelta(step.delta());
        } catch (RuntimeException e) {
            log.warn("listener of request {} threw; cancelling the request", r.request.id(), e);
            finish(r, FinishReason.CANCELLED, null);
            return;
        }
        if (step.finish() != null) finish(r, step.finish(), null);
    }

    private boolean isEos(int token) {
        for (int id : eosTokenIds) if (id == token) return true;
        return false;
    }

    private void expireDeadlines(long now) {
        List<RequestState> late = null;
        for (RequestState r : byRequest.values()) {
            if (now - r.deadlineNanos > 0 && r.deadlineNanos != Long.MAX_VALUE) {
                if (late == null) late = new ArrayList<>();
                late.add(r);
            }
        }
        if (late == null) return;
        for (RequestState r : late) {
            log.debug("request {} passed its deadline", r.request.id());
            finish(r, FinishReason.CANCELLED, null);
        }
    }

    private void finish(RequestState r, FinishReason reason, String error) {
        if (byRequest.remove(r.request.id()) == null) return;
        bySequence.remove(r.sequence.id());
        scheduler.finish(r.sequence);
        if (!r.started) onRequestStarted.run(); // it no longer counts as waiting
        stats.recordFinished(reason, r.sequence.numPromptTokens(), r.delivered);
        try {
            r.listener.onFinish(r.completion(reason, error));
        } catch (RuntimeException e) {
            log.warn("listener of request {} threw in onFinish", r.request.id(), e);
        }
    }

    private void publishGauges() {
        KvCacheManager kv = scheduler.kvCache();
        long now = System.nanoTime();
        if (now - cachedHashesAt > 1_000_000_000L) { // the cluster's summary of this cache: once a second is plenty
            cachedHashesAt = now;
            stats.cachedBlockHashes(kv.pool().cachedHashes());
        }
        stats.gauges(scheduler.numRunning(), scheduler.numWaiting(), kv.pool().numUsedBlocks(), kv.pool().numBlocks(),
                kv.prefixQueryTokens(), kv.prefixHitTokens());
    }
}
