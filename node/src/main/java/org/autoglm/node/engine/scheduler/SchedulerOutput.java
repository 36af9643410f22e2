package org.autoglm.node.engine.scheduler;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The plan for one engine step (vLLM's {@code SchedulerOutput}): what each scheduled sequence computes, and which
 * sequences left since the previous plan, so the model runner can drop their state.
 *
 * <p>Entry {@code i} (in service order) is one sequence's share of the step: compute its tokens at positions
 * {@code startPosition(i) .. startPosition(i) + numTokens(i)}. The entries live in parallel arrays rather than as
 * a {@link ScheduledChunk} object each because the scheduler plans every running sequence every step, and
 * allocating those objects was a large part of a scheduler iteration; {@link #chunk(int)} gives one entry as a
 * record where speed does not matter.
 */
public final class SchedulerOutput {

    private static final long[] NO_IDS = new long[0];

    private final Sequence[] sequences;
    private final int[] startPositions;
    private final int[] numTokens;
    private final int[][] newBlockIds;
    private final boolean[] resetBlockTables;
    private final boolean[] wantLogits;
    private int size;
    private int numBatchedTokens;
    private long[] preemptedIds = NO_IDS;
    private long[] finishedIds = NO_IDS;
    private List<Sequence> outOfMemory = List.of();
    private boolean plannedAhead;

    SchedulerOutput(int capacity) {
        sequences = new Sequence[capacity];
        startPositions = new int[capacity];
        numTokens = new int[capacity];
        newBlockIds = new int[capacity][];
        resetBlockTables = new boolean[capacity];
        wantLogits = new boolean[capacity];
    }

    /**
     * A plan made of the given entries (model runner tests and benchmarks build plans by hand).
     *
     * @param preemptedIds sequences preempted by this plan: their blocks are gone, they will recompute
     * @param finishedIds  sequences finished (or cancelled) since the previous plan
     * @param outOfMemory  running sequences that cannot grow even with the whole KV pool to themselves
     */
    public static SchedulerOutput of(List<ScheduledChunk> chunks, long[] preemptedIds, long[] finishedIds, List<Sequence> outOfMemory) {
        SchedulerOutput plan = new SchedulerOutput(chunks.size());
        for (ScheduledChunk c : chunks) {
            plan.add(c.sequence(), c.startPosition(), c.numTokens(), c.newBlockIds(), c.resetBlockTable(), c.wantLogits());
        }
        plan.finish(preemptedIds, finishedIds, outOfMemory);
        return plan;
    }

    void add(Sequence sequence, int startPosition, int tokens, int[] blockIds, boolean reset, boolean logits) {
        sequences[size] = sequence;
        startPositions[size] = startPosition;
        numTokens[size] = tokens;
        newBlockIds[size] = blockIds;
        resetBlockTables[size] = reset;
        wantLogits[size] = logits;
        numBatchedTokens += tokens;
        size++;
    }

    void finish(long[] preempted, long[] finished, List<Sequence> oom) {
        preemptedIds = preempted;
        finishedIds = finished;
        outOfMemory = oom;
    }

    void markPlannedAhead() {
        plannedAhead = true;
    }

    /** Whether the scheduler took this plan's work as done when it was made ({@code Scheduler.planAhead}). */
    public boolean plannedAhead() {
        return plannedAhead;
    }

    /** Scheduled sequences. */
    public int size() {
        return size;
    }

    public boolean isEmpty() {
        return size == 0;
    }

    /** Sum of the entries' token counts (within {@code max-num-batched-tokens}). */
    public int numBatchedTokens() {
        return numBatchedTokens;
    }

    /** The sequence of entry {@code i} (identity handle; read it, the scheduler alone changes it). */
    public Sequence sequence(int i) {
        return sequences[check(i)];
    }

    public long sequenceId(int i) {
        return sequence(i).id();
    }

    /** Tokens of entry {@code i}'s sequence already in the KV cache. */
    public int startPosition(int i) {
        return startPositions[check(i)];
    }

    /** Tokens entry {@code i} computes. */
    public int numTokens(int i) {
        return numTokens[check(i)];
    }

    /** The token ids entry {@code i} computes, as a new array (a sequence's tokens never change once appended). */
    public int[] tokens(int i) {
        int start = startPosition(i);
        return Arrays.copyOfRange(sequences[i].tokenArray(), start, start + numTokens[i]);
    }

    /** Blocks appended to the sequence's table this step; the whole table when {@link #resetBlockTable}. */
    public int[] newBlockIds(int i) {
        return newBlockIds[check(i)];
    }

    /** The sequence is (re)starting: first step, or first after a preemption. */
    public boolean resetBlockTable(int i) {
        return resetBlockTables[check(i)];
    }

    /** Entry {@code i} reaches its sequence's last token, so a new token is sampled. */
    public boolean wantLogits(int i) {
        return wantLogits[check(i)];
    }

    /** Entry {@code i} as a record. */
    public ScheduledChunk chunk(int i) {
        check(i);
        return new ScheduledChunk(sequences[i], startPositions[i], numTokens[i], newBlockIds[i], resetBlockTables[i], wantLogits[i]);
    }

    /** All entries as records, in service order. */
    public List<ScheduledChunk> chunks() {
        List<ScheduledChunk> out = new ArrayList<>(size);
        for (int i = 0; i < size; i++) out.add(chunk(i));
        return out;
    }

    /** Sequences preempted by this plan: their blocks are gone, they will recompute. */
    public long[] preemptedIds() {
        return preemptedIds;
    }

    /** Sequences finished (or cancelled) since the previous plan. */
    public long[] finishedIds() {
        return finishedIds;
    }

    /**
     * Running sequences that cannot grow even with the whole KV pool to themselves; the engine finishes them with
     * {@code length}.
     */
    public List<Sequence> outOfMemory() {
        return outOfMemory;
    }

    private int check(int i) {
        return java.util.Objects.checkIndex(i, size);
    }
}
