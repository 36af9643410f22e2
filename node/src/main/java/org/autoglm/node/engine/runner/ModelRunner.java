package org.autoglm.node.engine.runner;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.autoglm.models.backend.Backend;
import org.autoglm.models.backend.SequenceChunk;
import org.autoglm.models.sampling.TokenLogprobs;
import org.autoglm.node.engine.scheduler.ScheduledChunk;
import org.autoglm.node.engine.scheduler.Scheduler;
import org.autoglm.node.engine.scheduler.SchedulerOutput;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a plan on the backend (vLLM's model runner): keeps each sequence's block table and sampler between
 * steps, turns the plan's chunks into {@link SequenceChunk}s for one batched forward, and samples every
 * sequence with its own sampler.
 *
 * <p>Failures stay with the sequence that caused them: if the batched forward throws, each chunk is run
 * alone to find the culprit (recomputing a chunk rewrites the same KV slots with the same values), and a
 * sampler that throws fails only its sequence.
 */
public final class ModelRunner {

    private static final Logger log = LoggerFactory.getLogger(ModelRunner.class);

    /** What the runner remembers about a sequence between steps. */
    private static final class RunnerSequence {
        int[] blockTable = new int[0];
        TokenSampler sampler;
    }

    private final Backend backend;
    private final SamplerFactory samplers;
    private final Map<Long, RunnerSequence> sequences = new HashMap<>();

    public ModelRunner(Backend backend, SamplerFactory samplers) {
        this.backend = backend;
        this.samplers = samplers;
    }

    /** Sequences the runner holds state for (finished ones leave with the next plan). */
    public int numSequences() {
        return sequences.size();
    }

    /** The backend's input for one step, and for each of its chunks the index of the plan chunk it came from. */
    public record Batch(List<SequenceChunk> chunks, int[] planIndex) {}

    /** Runs one plan: forward, then sampling. Never throws for a single sequence's failure. */
    public StepResult execute(SchedulerOutput plan) {
        int n = plan.chunks().size();
        int[] sampled = new int[n];
        String[] errors = new String[n];
        TokenLogprobs[] logprobs = new TokenLogprobs[n];
        Batch batch = prepare(plan, sampled, errors);
        if (batch.chunks().isEmpty()) return new StepResult(sampled, logprobs, errors);

        float[][] logits = forwardIsolatingFailures(batch, sampled, errors);
        for (int b = 0; b < batch.chunks().size(); b++) {
            int i = batch.planIndex()[b];
            ScheduledChunk chunk = plan.chunks().get(i);
            if (sampled[i] == Scheduler.FAILED) continue;
            if (!chunk.wantLogits()) {
                sampled[i] = Scheduler.NO_TOKEN;
            } else if (logits[b] == null) {
                fail(i, sampled, errors, "the backend returned no logits for a chunk that asked for them");
            } else {
                try {
                    TokenSampler sampler = sequences.get(chunk.sequenceId()).sampler;
                    int token = sampler.sample(logits[b]);
                    sampler.accept(token);
                    sampled[i] = token;
                    logprobs[i] = sampler.lastLogprobs();
                } catch (RuntimeException e) {
                    log.warn("sampling failed for sequence {}", chunk.sequenceId(), e);
                    fail(i, sampled, errors, "sampling failed: " + e.getMessage());
                }
            }
        }
        return new StepResult(sampled, logprobs, errors);
    }

    /**
     * Applies the plan's changes to the persistent state (leavers dropped, block tables grown) and builds the
     * backend batch. A chunk whose sampler cannot be made is marked failed in {@code sampled}/{@code errors}
     * and left out of the batch.
     */
    public Batch prepare(SchedulerOutput plan, int[] sampled, String[] errors) {
        for (long id : plan.finishedIds()) sequences.remove(id);
        for (long id : plan.preemptedIds()) {
            RunnerSequence rs = sequences.get(id);
            if (rs != null) rs.blockTable = new int[0];
        }
        List<ScheduledChunk> chunks = plan.chunks();
        List<SequenceChunk> batch = new ArrayList<>(chunks.size());
        int[] planIndex = new int[chunks.size()];
        for (int i = 0; i < chunks.size(); i++) {
            ScheduledChunk c = chunks.get(i);
            RunnerSequence rs = sequences.get(c.sequenceId());
            if (rs == null) {
                rs = new RunnerSequence();
                try {
                    rs.sampler = samplers.create(c.sequence().params(), c.sequence().promptIds());
                } catch (RuntimeException e) {
                    fail(i, sampled, errors, "invalid sampling parameters: " + e.getMessage());
                    continue;
                }
                sequences.put(c.sequenceId(), rs);
            }
            if (c.resetBlockTable()) {
                rs.blockTable = c.newBlockIds();
            } else if (c.newBlockIds().length > 0) {
                int[] grown = Arrays.copyOf(rs.blockTable, rs.blockTable.length + c.newBlockIds().length);
                System.arraycopy(c.newBlockIds(), 0, grown, rs.blockTable.length, c.newBlockIds().length);
                rs.blockTable = grown;
            }
            planIndex[batch.size()] = i;
            batch.add(new SequenceChunk(c.sequenceId(), c.tokens(), c.startPosition(), rs.blockTable, c.wantLogits()));
        }
        return new Batch(batch, Arrays.copyOf(planIndex, batch.size()));
    }

    /** Forward of the whole batch; if it throws, of each chunk alone. A chunk that fails alone gets a null row. */
    private float[][] forwardIsolatingFailures(Batch batch, int[] sampled, String[] errors) {
        List<SequenceChunk> chunks = batch.chunks();
        try {
            return backend.forward(chunks);
        } catch (RuntimeException batchError) {
            if (chunks.size() > 1) {
                log.warn("batched forward of {} sequences failed; running each alone", chunks.size(), batchError);
            }
            float[][] out = new float[chunks.size()][];
            for (int b = 0; b < chunks.size(); b++) {
                try {
                    out[b] = chunks.size() == 1 ? throwAgain(batchError) : backend.forward(List.of(chunks.get(b)))[0];
                } catch (RuntimeException e) {
                    log.warn("forward failed for sequence {}", chunks.get(b).sequenceId(), e);
                    fail(batch.planIndex()[b], sampled, errors, "model forward failed: " + e.getMessage());
                }
            }
            return out;
        }
    }

    private static float[] throwAgain(RuntimeException e) {
        throw e;
    }

    private static void fail(int i, int[] sampled, String[] errors, String message) {
        sampled[i] = Scheduler.FAILED;
        errors[i] = message;
    }
}
