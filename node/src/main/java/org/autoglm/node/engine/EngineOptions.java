package org.autoglm.node.engine;

import java.time.Duration;
import java.util.function.Consumer;
import org.autoglm.node.engine.policy.SchedulingPolicy;

/**
 * How one node's engine batches and schedules. Build with {@link #create}: every field has a default.
 *
 * @param maxNumSeqs          most sequences in one step ({@code --max-num-seqs})
 * @param maxNumBatchedTokens most tokens computed in one step, prompt chunks and decodes together
 *                            ({@code --max-num-batched-tokens})
 * @param blockSize           tokens per KV block
 * @param numKvBlocks         KV blocks to allocate, or 0 to take what the backend says fits
 * @param maxWaiting          requests that may wait for admission before new ones are refused as overloaded
 * @param schedulingPolicy    {@code fcfs}, {@code priority}, {@code sjf} or {@code mlfq}
 * @param priorityAgingStep   priority policy: waiting this long is worth one priority level; sjf: it is worth
 *                            1,000 tokens of expected job length
 * @param mlfqQuantum         mlfq policy: decode steps on level 0 before dropping a level (doubles per level)
 * @param mlfqLevels          mlfq policy: number of levels (all sequences return to level 0 every
 *                            {@code mlfqQuantum << mlfqLevels} steps)
 * @param prefixCaching       reuse the KV of shared prompt prefixes across requests
 * @param maxModelLen         longest sequence (prompt + output) accepted, or 0 for the model's context length
 * @param batchLineTokensPerStep most tokens of Batch API lines computed in one step, or 0 for no limit but
 *                            {@code maxNumBatchedTokens} ({@code --batch-line-tokens-per-step}): an interactive
 *                            request that arrives waits for the step in progress, and on a CPU a step's time grows with
 *                            its tokens; the lines beyond it keep their KV cache and take turns
 */
public record EngineOptions(
        int maxNumSeqs,
        int maxNumBatchedTokens,
        int blockSize,
        int numKvBlocks,
        int maxWaiting,
        String schedulingPolicy,
        Duration priorityAgingStep,
        int mlfqQuantum,
        int mlfqLevels,
        boolean prefixCaching,
        int maxModelLen,
        int batchLineTokensPerStep) {

    /** Every value checked here, each message naming the {@code serve} flag that sets it. */
    public EngineOptions {
        atLeast("--max-num-seqs", maxNumSeqs, 1, "");
        atLeast("--max-num-batched-tokens", maxNumBatchedTokens, 1, "");
        atLeast("--block-size", blockSize, 1, "");
        atLeast("--num-kv-blocks", numKvBlocks, 0, " (0 = as many as the backend's memory holds)");
        atLeast("--max-waiting", maxWaiting, 0, "");
        atLeast("--max-model-len", maxModelLen, 0, " (0 = the model's context length)");
        atLeast("--batch-line-tokens-per-step", batchLineTokensPerStep, 0, " (0 = no limit of its own)");
        if (schedulingPolicy == null) {
            throw new IllegalArgumentException("--scheduling-policy is missing; use one of: " + SchedulingPolicy.NAMES);
        }
        try {
            policy(schedulingPolicy, priorityAgingStep, mlfqQuantum, mlfqLevels); // fail fast on a bad name
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--scheduling-policy: " + e.getMessage(), e);
        }
    }

    private static void atLeast(String flag, int value, int min, String note) {
        if (value < min) {
            throw new IllegalArgumentException(flag + " must be at least " + min + note + ", got " + value);
        }
    }

    /** Options with defaults, changed by {@code configure}. */
    public static EngineOptions create(Consumer<Builder> configure) {
        Builder b = new Builder();
        configure.accept(b);
        return b.build();
    }

    public static EngineOptions defaults() {
        return create(b -> {});
    }

    /**
     * Refuses a reload that changes what needs a restart (KV layout, prefix caching, context length); the reloadable
     * fields are the limits and the scheduling policy.
     */
    public void requireOnlyReloadableChanges(EngineOptions next) {
        if (next.blockSize != blockSize) throw notReloadable("block_size");
        if (next.numKvBlocks != numKvBlocks) throw notReloadable("num_kv_blocks");
        if (next.prefixCaching != prefixCaching) throw notReloadable("prefix_caching");
        if (next.maxModelLen != maxModelLen) throw notReloadable("max_model_len");
    }

    private static IllegalArgumentException notReloadable(String field) {
        return new IllegalArgumentException("'" + field + "' cannot change while the engine runs; use restart-engine"
                + " (or restart the node with the new flag)");
    }

    /** A copy with the reloadable fields changed by {@code change} (starting from these values). */
    public EngineOptions with(Consumer<Builder> change) {
        Builder b = new Builder();
        b.maxNumSeqs = maxNumSeqs;
        b.maxNumBatchedTokens = maxNumBatchedTokens;
        b.blockSize = blockSize;
        b.numKvBlocks = numKvBlocks;
        b.maxWaiting = maxWaiting;
        b.schedulingPolicy = schedulingPolicy;
        b.priorityAgingStep = priorityAgingStep;
        b.mlfqQuantum = mlfqQuantum;
        b.mlfqLevels = mlfqLevels;
        b.prefixCaching = prefixCaching;
        b.maxModelLen = maxModelLen;
        b.batchLineTokensPerStep = batchLineTokensPerStep;
        change.accept(b);
        return b.build();
    }

    /** A fresh policy instance as configured. */
    public SchedulingPolicy newPolicy() {
        return policy(schedulingPolicy, priorityAgingStep, mlfqQuantum, mlfqLevels);
    }

    private static SchedulingPolicy policy(String name, Duration aging, int quantum, int levels) {
        return SchedulingPolicy.byName(name, aging, quantum, levels);
    }

    /** Mutable defaults for {@link #create}. */
    public static final class Builder {
        /** vLLM's default on GPUs; CPU nodes are limited by step time long before this. */
        public int maxNumSeqs = 256;
        /** Enough for a 2k-token prompt chunk plus a full decode batch in one step. */
        public int maxNumBatchedTokens = 2048;
        /** vLLM's default block size: small enough to waste little, large enough for efficient kernels. */
        public int blockSize = 16;
        /** 0: ask the backend how many blocks fit its memory budget. */
        public int numKvBlocks = 0;
        /** A few batches' worth of queued work; beyond that, clients retry (429) or go to another node. */
        public int maxWaiting = 1024;
        public String schedulingPolicy = "fcfs";
        /** One priority level (sjf: 1,000 tokens of job length) per second of waiting. */
        public Duration priorityAgingStep = Duration.ofSeconds(1);
        /** 16 decode steps on level 0, 32 on level 1, ... */
        public int mlfqQuantum = 16;
        public int mlfqLevels = 4;
        public boolean prefixCaching = true;
        /** 0: the model's max_position_embeddings. */
        public int maxModelLen = 0;
        /** 0: batch lines fill a step as interactive work does (GPU steps cost little more with more of them). */
        public int batchLineTokensPerStep = 0;

        public EngineOptions build() {
            return new EngineOptions(maxNumSeqs, maxNumBatchedTokens, blockSize, numKvBlocks, maxWaiting,
                    schedulingPolicy, priorityAgingStep, mlfqQuantum, mlfqLevels, prefixCaching, maxModelLen,
                    batchLineTokensPerStep);
        }
    }
}
