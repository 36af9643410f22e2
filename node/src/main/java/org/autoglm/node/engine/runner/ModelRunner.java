package org.autoglm.node.engine.runner;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.autoglm.models.backend.Backend;
import org.autoglm.models.backend.SampledStep;
import org.autoglm.models.backend.SequenceChunk;
import org.autoglm.models.sampling.SamplingParams;
import org.autoglm.models.sampling.TokenLogprobs;
import org.autoglm.node.engine.grammar.SequenceGrammar;
import org.autoglm.node.engine.scheduler.Scheduler;
import org.autoglm.node.engine.scheduler.SchedulerOutput;
import org.autoglm.node.engine.scheduler.Sequence;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a plan on the backend (vLLM's model runner): keeps each sequence's block table and sampler between
 * steps, turns the plan's chunks into {@link SequenceChunk}s for one batched forward, and samples every
 * sequence with its own sampler.
 *
 * <p>Where the backend can draw a sequence's next token itself ({@link Backend#canSample}: no penalties, no
 * logprobs, knobs it has), the step goes through {@link Backend#forwardAndSample} and only token ids come back
 * for those sequences (on a GPU that saves copying vocab-sized logits per sequence per step); the others get
 * their logits and the host sampler in the same forward. The choice is made once per sequence, so its
 * tokens (seeded ones included) never depend on its batch-mates.
 *
 * <p>A sequence with an output grammar ({@link Sequence#grammar()}) has its next-token mask computed on the grammar's
 * threads while the forward pass runs; the mask is applied before sampling, the sampled token advances the
 * grammar, and any text the grammar then forces is appended at once (jump-forward, {@link StepResult#forced()}).
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
        /** Sampled by the backend ({@link Backend#canSample}); null: on the host with {@link #sampler}. */
        SamplingParams onDevice;
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

    /**
     * The backend's input for one step, for each of its chunks the index of the plan chunk it came from, and
     * the parameters of the chunks the backend samples (null entries: host sampling; all null: plain forward).
     */
    public record Batch(List<SequenceChunk> chunks, int[] planIndex, List<SamplingParams> deviceParams,
                        List<SequenceGrammar> deviceGrammars) {}

    /** Runs one plan: forward, then sampling. Never throws for a single sequence's failure. */
    public StepResult execute(SchedulerOutput plan) {
        int n = plan.size();
        int[] sampled = new int[n];
        String[] errors = new String[n];
        TokenLogprobs[] logprobs = new TokenLogprobs[n];
        int[][] forced = new int[n][];
        Batch batch = prepare(plan, sampled, errors);
        if (batch.chunks().isEmpty()) return new StepResult(sampled, logprobs, errors, forced);
        for (int b = 0; b < batch.chunks().size(); b++) {
            int i = batch.planIndex()[b];
            SequenceGrammar grammar = plan.sequence(i).grammar();
            if (grammar != null && plan.wantLogits(i)) grammar.startMask(); // overlaps the forward pass
        }

        SampledStep out = forwardIsolatingFailures(batch, sampled, errors);
        for (int b = 0; b < batch.chunks().size(); b++) {
            int i = batch.planIndex()[b];
            if (sampled[i] == Scheduler.FAILED) continue;
            RunnerSequence rs = sequences.get(plan.sequenceId(i));
            if (!plan.wantLogits(i)) {
                sampled[i] = Scheduler.NO_TOKEN;
            } else if (rs.onDevice != null) {
                int token = out.tokenIds()[b];
                if (token < 0) {
                    fail(i, sampled, errors, "the backend returned no token for a sequence it samples");
                } else {
                    try {
                        rs.sampler.accept(token);
                        sampled[i] = token;
                        SequenceGrammar grammar = plan.sequence(i).grammar();
                        if (grammar != null) forced[i] = advanceGrammar(plan.sequence(i), grammar, token, rs.sampler);
                    } catch (RuntimeException e) {
                        fail(i, sampled, errors, "sampling failed: " + e.getMessage());
                    }
                }
            } else if (out.logits()[b] == null) {
                fail(i, sampled, errors, "the backend returned no logits for a chunk that asked for them");
            } else {
                try {
                    TokenSampler sampler = rs.sampler;
                    Sequence sequence = plan.sequence(i);
                    SequenceGrammar grammar = sequence.grammar();
                    int token = grammar == null ? sampler.sample(out.logits()[b])
                            : sampler.sample(out.logits()[b], grammar.awaitMask());
                    sampler.accept(token);
                    sampled[i] = token;
                    logprobs[i] = sampler.lastLogprobs();
                    if (grammar != null) forced[i] = advanceGrammar(sequence, grammar, token, sampler);
                } catch (RuntimeException e) {
                    log.warn("sampling failed for sequence {}", plan.sequenceId(i), e);
                    fail(i, sampled, errors, "sampling failed: " + e.getMessage());
                }
            }
        }
        return new StepResult(sampled, logprobs, errors, forced);
    }

    /**
     * Moves the grammar past the sampled token, then takes the text it forces (jump-forward), within the tokens
     * the request has left.
     */
    private static int[] advanceGrammar(Sequence sequence, SequenceGrammar grammar, int token, TokenSampler sampler) {
        if (!grammar.accept(token)) {
            throw new IllegalStateException("token " + token + " does not fit the output grammar");
        }
        int left = sequence.params().maxTokens() - sequence.numOutputTokens() - 1;
        int[] extra = grammar.forcedTokens(left);
        for (int t : extra) sampler.accept(t);
        return extra.length == 0 ? null : extra;
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
        int n = plan.size();
        List<SequenceChunk> batch = new ArrayList<>(n);
        List<SamplingParams> deviceParams = new ArrayList<>(n);
        List<SequenceGrammar> deviceGrammars = new ArrayList<>(n);
        int[] planIndex = new int[n];
        for (int i = 0; i < n; i++) {
            Sequence sequence = plan.sequence(i);
            RunnerSequence rs = sequences.get(sequence.id());
            if (rs == null) {
                rs = new RunnerSequence();
                try {
                    rs.sampler = samplers.create(sequence.params(), sequence.promptIds());
                    if (backend.canSample(sequence.params())
                            && (sequence.grammar() == null || backend.canApplyTokenMasks())) {
                        rs.onDevice = sequence.params();
                    }
                } catch (RuntimeException e) {
                    fail(i, sampled, errors, "invalid sampling parameters: " + e.getMessage());
                    continue;
                }
                sequences.put(sequence.id(), rs);
            }
            int[] newBlocks = plan.newBlockIds(i);
            if (plan.resetBlockTable(i)) {
                rs.blockTable = newBlocks;
            } else if (newBlocks.length > 0) {
                int[] grown = Arrays.copyOf(rs.blockTable, rs.blockTable.length + newBlocks.length);
                System.arraycopy(newBlocks, 0, grown, rs.blockTable.length, newBlocks.length);
                rs.blockTable = grown;
            }
            planIndex[batch.size()] = i;
            batch.add(new SequenceChunk(sequence.id(), plan.tokens(i), plan.startPosition(i), rs.blockTable, plan.wantLogits(i)));
            deviceParams.add(plan.wantLogits(i) ? rs.onDevice : null);
            deviceGrammars.add(plan.wantLogits(i) && rs.onDevice != null ? sequence.grammar() : null);
        }
        return new Batch(batch, Arrays.copyOf(planIndex, batch.size()), deviceParams, deviceGrammars);
    }

    /** Forward of the whole batch; if it throws, of each chunk alone. A chunk that fails alone gets no output. */
    private SampledStep forwardIsolatingFailures(Batch batch, int[] sampled, String[] errors) {
        List<SequenceChunk> chunks = batch.chunks();
        try {
            return run(chunks, batch.deviceParams(), batch.deviceGrammars());
        } catch (RuntimeException batchError) {
            if (chunks.size() > 1) {
                log.warn("batched forward of {} sequences failed; running each alone", chunks.size(), batchError);
            }
            int[] ids = new int[chunks.size()];
            Arrays.fill(ids, -1);
            float[][] logits = new float[chunks.size()][];
            for (int b = 0; b < chunks.size(); b++) {
                try {
                    if (chunks.size() == 1) throw batchError;
                    SampledStep alone = run(List.of(chunks.get(b)), Collections.singletonList(batch.deviceParams().get(b)),
                            Collections.singletonList(batch.deviceGrammars().get(b)));
                    ids[b] = alone.tokenIds()[0];
                    logits[b] = alone.logits()[0];
                } catch (RuntimeException e) {
                    log.warn("forward failed for sequence {}", chunks.get(b).sequenceId(), e);
                    fail(batch.planIndex()[b], sampled, errors, "model forward failed: " + e.getMessage());
                }
            }
            return new SampledStep(ids, logits);
        }
    }

    /** One backend call: with device sampling when any chunk has it, else the plain forward. */
    private SampledStep run(List<SequenceChunk> chunks, List<SamplingParams> deviceParams,
                            List<SequenceGrammar> grammars) {
        for (SequenceGrammar g : grammars) {
            if (g != null) {
                return backend.forwardAndSample(chunks, deviceParams, new Backend.TokenMasks() {
                    @Override
                    public boolean has(int chunk) {
                        return grammars.get(chunk) != null;
                    }

                    @Override
                    public long[] await(int chunk) {
                        return grammars.get(chunk).awaitMask();
                    }
                });
            }
        }
        for (SamplingParams p : deviceParams) {
            if (p != null) return backend.forwardAndSample(chunks, deviceParams);
        }
        return SampledStep.ofLogits(backend.forward(chunks));
    }

    private static void fail(int i, int[] sampled, String[] errors, String message) {
        sampled[i] = Scheduler.FAILED;
        errors[i] = message;
    }
}
