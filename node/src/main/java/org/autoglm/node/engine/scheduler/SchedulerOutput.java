package org.autoglm.node.engine.scheduler;

import java.util.List;

/**
 * The plan for one engine step (vLLM's {@code SchedulerOutput}): what each scheduled sequence computes,
 * and which sequences left since the previous plan, so the model runner can drop their state.
 *
 * @param chunks            scheduled sequences in service order
 * @param numBatchedTokens  sum of the chunks' token counts (within {@code max-num-batched-tokens})
 * @param preemptedIds      sequences preempted by this plan: their blocks are gone, they will recompute
 * @param finishedIds       sequences finished (or cancelled) since the previous plan
 * @param outOfMemory       running sequences that cannot grow even with the whole KV pool to themselves;
 *                          the engine finishes them with {@code length}
 */
public record SchedulerOutput(
        List<ScheduledChunk> chunks,
        int numBatchedTokens,
        long[] preemptedIds,
        long[] finishedIds,
        List<Sequence> outOfMemory) {

    public boolean isEmpty() {
        return chunks.isEmpty();
    }
}
