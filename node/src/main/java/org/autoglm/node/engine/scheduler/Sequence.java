package org.autoglm.node.engine.scheduler;

import java.util.Arrays;
import org.autoglm.models.sampling.SamplingParams;
import org.autoglm.node.engine.grammar.SequenceGrammar;
import org.autoglm.node.engine.kv.BlockTable;

/**
 * The scheduler's view of one request: its tokens (prompt, then output) and how many of them have KV
 * in the cache. There are no prefill or decode phases: a step computes some of the tokens between
 * {@link #numComputed()} and {@link #numTokens()}; a fresh prompt, a chunked prefill, a prefix-cache hit
 * and a recompute after preemption are all just different values of the two counters.
 *
 * <p>Owned by the engine loop thread; not thread-safe.
 */
public final class Sequence {

    public enum Status { WAITING, RUNNING, FINISHED }

    private final long id;
    private final String requestId;
    private final SamplingParams params;
    /** Changed only while waiting ({@code reprioritize}), by the scheduler that re-queues it. */
    private int priority;
    private final long arrivalNanos;
    private final boolean batch;
    private final int numPromptTokens;
    private int[] tokens;
    private int numTokens;
    private int numComputed;
    /** Trailing tokens drawn on the device and not yet read back (asynchronous scheduling): 0, 1 or 2. */
    private int numPending;
    private Status status = Status.WAITING;
    private final BlockTable blockTable = new BlockTable();
    private int numPreemptions;
    private boolean started;
    /** The output grammar's state, or null for unconstrained output. */
    private final SequenceGrammar grammar;

    // State a scheduling policy may keep on the sequence (the mlfq level and its used quantum).
    private int policyLevel;
    private int policySteps;

    public Sequence(long id, String requestId, int[] promptIds, SamplingParams params, int priority, long arrivalNanos) {
        this(id, requestId, promptIds, params, priority, arrivalNanos, null, false);
    }

    /** A sequence with free output. @param batch a batch-class line: served after interactive ones, preempted first */
    public Sequence(long id, String requestId, int[] promptIds, SamplingParams params, int priority, long arrivalNanos,
                    boolean batch) {
        this(id, requestId, promptIds, params, priority, arrivalNanos, null, batch);
    }

    /** An interactive sequence. @param grammar the output grammar's state (already past any resumed output), or null */
    public Sequence(long id, String requestId, int[] promptIds, SamplingParams params, int priority, long arrivalNanos,
                    SequenceGrammar grammar) {
        this(id, requestId, promptIds, params, priority, arrivalNanos, grammar, false);
    }

    /**
     * @param grammar the output grammar's state (already past any resumed output), or null
     * @param batch   a batch-class line: served after interactive sequences and preempted before them
     */
    public Sequence(long id, String requestId, int[] promptIds, SamplingParams params, int priority, long arrivalNanos,
                    SequenceGrammar grammar, boolean batch) {
        this.grammar = grammar;
        if (promptIds.length == 0) throw new IllegalArgumentException("empty prompt for " + requestId);
        this.id = id;
        this.requestId = requestId;
        this.params = params;
        this.priority = priority;
        this.arrivalNanos = arrivalNanos;
        this.batch = batch;
        this.numPromptTokens = promptIds.length;
        this.tokens = Arrays.copyOf(promptIds, promptIds.length + Math.min(Math.max(params.maxTokens(), 1), 256));
        this.numTokens = promptIds.length;
    }

    public long id() {
        return id;
    }

    public String requestId() {
        return requestId;
    }

    /** The output grammar's state, or null when the output is not constrained. */
    public SequenceGrammar grammar() {
        return grammar;
    }

    public SamplingParams params() {
        return params;
    }

    public int priority() {
        return priority;
    }

    void priority(int value) {
        this.priority = value;
    }

    public long arrivalNanos() {
        return arrivalNanos;
    }

    /** A batch-class line (true) or interactive work (false). */
    public boolean batch() {
        return batch;
    }

    public int numPromptTokens() {
        return numPromptTokens;
    }

    public int numTokens() {
        return numTokens;
    }

    public int numOutputTokens() {
        return numTokens - numPromptTokens;
    }

    /**
     * Tokens at the end that a step in flight drew on the device and the host has not read yet (asynchronous
     * scheduling): they count in {@link #numTokens()} so the next step can compute them, but their ids are
     * {@code SequenceChunk.PREVIOUS_SAMPLE} until the step's result arrives.
     */
    public int numPending() {
        return numPending;
    }

    /** Tokens whose ids the host knows: {@link #numTokens()} less the {@link #numPending() pending} ones. */
    public int numKnownTokens() {
        return numTokens - numPending;
    }

    /** Leading tokens whose KV is in this sequence's blocks. */
    public int numComputed() {
        return numComputed;
    }

    /** Prompt length plus max_tokens: what shortest-job-first sorts by. */
    public int expectedLength() {
        return numPromptTokens + params.maxTokens();
    }

    public Status status() {
        return status;
    }

    public boolean isFinished() {
        return status == Status.FINISHED;
    }

    public int numPreemptions() {
        return numPreemptions;
    }

    /** Whether the sequence has been scheduled at least once (it left the queue it arrived in). */
    public boolean started() {
        return started;
    }

    /** A level the scheduling policy keeps (mlfq: the queue level, 0 highest). */
    public int policyLevel() {
        return policyLevel;
    }

    /** Steps counted by the scheduling policy (mlfq: decode steps used at the current level). */
    public int policySteps() {
        return policySteps;
    }

    /** For {@link org.autoglm.node.engine.policy.SchedulingPolicy} implementations only. */
    public void setPolicyState(int level, int steps) {
        policyLevel = level;
        policySteps = steps;
    }

    public BlockTable blockTable() {
        return blockTable;
    }

    /** The token array itself (valid up to {@link #numTokens()}): read it, never change it. */
    public int[] tokenArray() {
        return tokens;
    }

    public int token(int i) {
        if (i >= numTokens) throw new IndexOutOfBoundsException(i + " >= " + numTokens);
        return tokens[i];
    }

    public int lastToken() {
        return tokens[numTokens - 1];
    }

    public int[] promptIds() {
        return Arrays.copyOf(tokens, numPromptTokens);
    }

    public int[] outputIds() {
        return Arrays.copyOfRange(tokens, numPromptTokens, numTokens);
    }

    // State changes: only the scheduler makes them.

    void appendToken(int token) {
        if (numTokens == tokens.length) tokens = Arrays.copyOf(tokens, tokens.length * 2);
        tokens[numTokens++] = token;
    }

    /** A token the device is drawing in a step in flight: known by position now, by id once read back. */
    void appendPending(int placeholder) {
        appendToken(placeholder);
        numPending++;
    }

    /** The oldest pending token's id has arrived. */
    void resolvePending(int token) {
        if (numPending == 0) throw new IllegalStateException("no pending token in " + this);
        tokens[numTokens - numPending] = token;
        numPending--;
    }

    void advanceComputed(int n) {
        numComputed += n;
    }

    void setNumComputed(int n) {
        numComputed = n;
    }

    void setStatus(Status s) {
        status = s;
    }

    void markStarted() {
        started = true;
    }

    void markPreempted() {
        numPreemptions++;
        numComputed = 0;
        status = Status.WAITING;
    }

    @Override
    public String toString() {
        return "Sequence[" + id + " " + requestId + " " + status + " computed=" + numComputed + "/" + numTokens
                + (numPending > 0 ? " pending=" + numPending : "") + "]";
    }
}
