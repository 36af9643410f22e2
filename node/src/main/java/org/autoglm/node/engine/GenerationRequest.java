package org.autoglm.node.engine;

import java.time.Instant;
import java.util.List;
import org.autoglm.models.sampling.SamplingParams;
import org.autoglm.models.structured.OutputConstraint;

/**
 * One generation request as the engine sees it: tokens in, sampling parameters, scheduling hints.
 *
 * @param id           unique request id (e.g. {@code chatcmpl-...}); also the key in the cluster queue
 * @param promptIds    the tokenized prompt (chat template and session history already applied)
 * @param params       sampling and stopping
 * @param priority     lower runs first under the {@code priority} policy (vLLM's convention); 0 default
 * @param deadline     when to give up with an error, or null for none
 * @param sessionId    server-side session this turn belongs to, or null (placement affinity)
 * @param requiredTags capability tags a node must have to run this (cluster placement)
 * @param model        served model name requested
 * @param traceparent  W3C trace context from the client, or null
 * @param resumedOutput the tail of {@code promptIds} that is output this request already delivered on another node
 *                     (a restart after failover): its text was streamed there, so it is replayed through this
 *                     request's detokenizer and stop-string matcher without being emitted again; empty otherwise
 * @param constraint   what the output must look like (a JSON schema, a regex, a tool call...), or null for free text;
 *                     the engine rebuilds its grammar from it, so it travels with the request across the grid
 * @param user         who asked (the JWT subject), for fair share between users; null when unknown
 * @param batch        a batch line: runs after interactive work and may be preempted by it
 */
public record GenerationRequest(
        String id,
        int[] promptIds,
        SamplingParams params,
        int priority,
        Instant deadline,
        String sessionId,
        List<String> requiredTags,
        String model,
        String traceparent,
        int[] resumedOutput,
        OutputConstraint constraint,
        String user,
        boolean batch) {

    private static final int[] NONE = new int[0];

    public GenerationRequest {
        requiredTags = requiredTags == null ? List.of() : List.copyOf(requiredTags);
        resumedOutput = resumedOutput == null ? NONE : resumedOutput;
        if (resumedOutput.length > promptIds.length) {
            throw new IllegalArgumentException("resumedOutput is longer than the prompt it is the tail of");
        }
    }

    /** An interactive request of an unnamed user, without an output constraint. */
    public GenerationRequest(String id, int[] promptIds, SamplingParams params, int priority, Instant deadline,
                             String sessionId, List<String> requiredTags, String model, String traceparent,
                             int[] resumedOutput) {
        this(id, promptIds, params, priority, deadline, sessionId, requiredTags, model, traceparent, resumedOutput,
                null);
    }

    /** An interactive request of an unnamed user. */
    public GenerationRequest(String id, int[] promptIds, SamplingParams params, int priority, Instant deadline,
                             String sessionId, List<String> requiredTags, String model, String traceparent,
                             int[] resumedOutput, OutputConstraint constraint) {
        this(id, promptIds, params, priority, deadline, sessionId, requiredTags, model, traceparent, resumedOutput,
                constraint, null, false);
    }

    /** The same request with its output constrained. */
    public GenerationRequest withConstraint(OutputConstraint c) {
        return new GenerationRequest(id, promptIds, params, priority, deadline, sessionId, requiredTags, model,
                traceparent, resumedOutput, c, user, batch);
    }

    /** The same request as a batch-class line. */
    public GenerationRequest asBatch() {
        return new GenerationRequest(id, promptIds, params, priority, deadline, sessionId, requiredTags, model,
                traceparent, resumedOutput, constraint, user, true);
    }

    /** The same request at another priority (reprioritized while it waited in the cluster queue). */
    public GenerationRequest withPriority(int newPriority) {
        return new GenerationRequest(id, promptIds, params, newPriority, deadline, sessionId, requiredTags, model,
                traceparent, resumedOutput, constraint, user, batch);
    }

    /** The same request on behalf of {@code subject}. */
    public GenerationRequest withUser(String subject) {
        return new GenerationRequest(id, promptIds, params, priority, deadline, sessionId, requiredTags, model,
                traceparent, resumedOutput, constraint, subject, batch);
    }

    /** The same request continuing after {@code resumed} output tokens already delivered (failover). */
    public GenerationRequest resumedAfter(int[] prompt, SamplingParams remaining, int[] resumed) {
        return new GenerationRequest(id, prompt, remaining, priority, deadline, sessionId, requiredTags, model,
                traceparent, resumed, constraint, user, batch);
    }

    /** A request that starts from nothing (no resumed output). */
    public GenerationRequest(String id, int[] promptIds, SamplingParams params, int priority, Instant deadline,
                             String sessionId, List<String> requiredTags, String model, String traceparent) {
        this(id, promptIds, params, priority, deadline, sessionId, requiredTags, model, traceparent, NONE, null);
    }

    /** A plain request with default priority and no deadline, session or tags. */
    public static GenerationRequest of(String id, int[] promptIds, SamplingParams params) {
        return new GenerationRequest(id, promptIds, params, 0, null, null, List.of(), null, null);
    }
}
