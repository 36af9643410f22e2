package org.autoglm.node.engine.runner;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.autoglm.models.backend.Backend;
import org.autoglm.models.backend.PendingStep;
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
 * <p>Asynchronous scheduling ({@link Backend#feedsSampledIds}): {@link #submit} starts a step and returns at once,
 * {@link #complete} reads its result. The engine plans and submits step n+1 before it completes step n; a sequence
 * drawn on the device then enters step n+1 with {@link SequenceChunk#PREVIOUS_SAMPLE} for the token step n is
 * drawing, and the backend feeds that id from its own memory. A step that cannot run ahead (grammar masks, a backend
 * that does not feed ids) first completes the step before it and gets those ids written in on the host.
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
    /** Each device-drawn sequence's latest id read back: what a {@link SequenceChunk#PREVIOUS_SAMPLE} stood for. */
    private final Map<Long, Integer> lastDrawn = new HashMap<>();
    /** The step submitted last and not yet completed, or null. */
    private StepInFlight inFlight;

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
        return complete(submit(plan));
    }

    /** Whether this runner's backend runs steps ahead ({@link Backend#feedsSampledIds}). */
    public boolean runsAhead() {
        return backend.feedsSampledIds();
    }

    /**
     * Whether {@code s}'s next token is drawn on the device with nothing for the host to do before the step after
     * it (no grammar to advance, no logits to sample from): the engine may plan that step before the id is read.
     */
    public boolean drawsOnDevice(Sequence s) {
        RunnerSequence rs = sequences.get(s.id());
        return rs != null && rs.onDevice != null && s.grammar() == null;
    }

    /**
     * Whether the engine may plan the next step before {@code step} completes: every sequence of it that gets a
     * token is {@link #drawsOnDevice drawn on the device}, and nothing of it has to be recovered first.
     */
    public boolean canPlanPast(StepInFlight step) {
        if (step.mustRerun()) return false;
        SchedulerOutput plan = step.plan();
        for (int i = 0; i < plan.size(); i++) {
            if (plan.wantLogits(i) && !plan.sequence(i).isFinished() && !drawsOnDevice(plan.sequence(i))) return false;
        }
        return true;
    }

    /**
     * Starts one plan's forward pass and sampling; {@link #complete} reads it. Steps are completed in the order they
     * were submitted. Never throws for a single sequence's failure.
     */
    public StepInFlight submit(SchedulerOutput plan) {
        StepInFlight previous = inFlight;
        int n = plan.size();
        StepInFlight step = new StepInFlight(plan, new int[n], new String[n]);
        Batch batch = prepare(plan, step.sampled(), step.errors());
        step.batch(batch);
        inFlight = step;
        if (batch.chunks().isEmpty()) return step;
        for (int b = 0; b < batch.chunks().size(); b++) {
            int i = batch.planIndex()[b];
            SequenceGrammar grammar = plan.sequence(i).grammar();
            if (grammar != null && plan.wantLogits(i)) grammar.startMask(); // overlaps the forward pass
        }
        boolean feeds = false;
        for (SequenceChunk c : batch.chunks()) feeds |= c.feedsPreviousSample();
        if (feeds && (!backend.feedsSampledIds() || hasGrammar(batch))) {
            // This step cannot take ids from the device: the host completes the one before and writes them in.
            if (previous != null && !previous.isCompleted()) previous.complete(finish(previous));
            step.batch(batch = withKnownIds(batch, step));
        }
        try {
            step.start(start(batch));
        } catch (RuntimeException e) {
            step.startFailed(e);
        }
        return step;
    }

    /** Waits for a submitted step and samples what is sampled on the host. */
    public StepResult complete(StepInFlight step) {
        if (!step.isCompleted()) step.complete(finish(step));
        if (inFlight == step) inFlight = null;
        return step.result();
    }

    private StepResult finish(StepInFlight step) {
        SchedulerOutput plan = step.plan();
        Batch batch = step.batch();
        int n = plan.size();
        int[] sampled = step.sampled();
        String[] errors = step.errors();
        TokenLogprobs[] logprobs = new TokenLogprobs[n];
        int[][] forced = new int[n][];
        if (batch.chunks().isEmpty()) return new StepResult(sampled, logprobs, errors, forced);
        SampledStep out = awaitIsolatingFailures(step, sampled, errors);
        for (int b = 0; b < batch.chunks().size(); b++) {
            int i = batch.planIndex()[b];
            if (sampled[i] == Scheduler.FAILED) continue;
            RunnerSequence rs = sequences.get(plan.sequenceId(i));
            if (!plan.wantLogits(i)) {
                sampled[i] = Scheduler.NO_TOKEN;
            } else if (rs == null) {
                sampled[i] = Scheduler.NO_TOKEN; // finished while its step ran: the token is discarded
            } else if (rs.onDevice != null) {
                int token = out.tokenIds()[b];
                if (token < 0) {
                    fail(i, sampled, errors, "the backend returned no token for a sequence it samples");
                } else {
                    try {
                        rs.sampler.accept(token);
                        sampled[i] = token;
                        lastDrawn.put(plan.sequenceId(i), token);
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
        for (long id : plan.finishedIds()) {
            sequences.remove(id);
            lastDrawn.remove(id);
        }
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

    /**
     * The step's result; if its batched forward threw, each chunk alone. A step submitted behind a failed one was fed
     * ids that are not to be trusted: it is run again the same way, with the ids now known written in. A chunk that
     * fails alone gets no output.
     */
    private SampledStep awaitIsolatingFailures(StepInFlight step, int[] sampled, String[] errors) {
        RuntimeException batchError;
        try {
            SampledStep out = step.awaitStarted();
            if (!step.mustRerun()) return out;
            batchError = null;
        } catch (RuntimeException e) {
            batchError = e;
        }
        if (inFlight != null && inFlight != step) inFlight.mustRerun(true); // it was fed from this step's draws
        Batch batch = withKnownIds(step.batch(), step);
        List<SequenceChunk> chunks = batch.chunks();
        if (batchError != null && chunks.size() > 1) {
            log.warn("batched forward of {} sequences failed; running each alone", chunks.size(), batchError);
        }
        int[] ids = new int[chunks.size()];
        Arrays.fill(ids, -1);
        float[][] logits = new float[chunks.size()][];
        for (int b = 0; b < chunks.size(); b++) {
            if (sampled[batch.planIndex()[b]] == Scheduler.FAILED) continue;
            try {
                // the same single chunk again would fail the same way
                if (chunks.size() == 1 && batch == step.batch() && batchError != null) throw batchError;
                SampledStep alone = start(new Batch(List.of(chunks.get(b)), new int[] {0},
                        Collections.singletonList(batch.deviceParams().get(b)),
                        Collections.singletonList(batch.deviceGrammars().get(b)))).await();
                ids[b] = alone.tokenIds()[0];
                logits[b] = alone.logits()[0];
            } catch (RuntimeException e) {
                log.warn("forward failed for sequence {}", chunks.get(b).sequenceId(), e);
                fail(batch.planIndex()[b], sampled, errors, "model forward failed: " + e.getMessage());
            }
        }
        return new SampledStep(ids, logits);
    }

    /**
     * The batch with every {@link SequenceChunk#PREVIOUS_SAMPLE} replaced by the id read back for its sequence; a
     * chunk whose sequence has none (its draw failed) is marked failed and left out.
     */
    private Batch withKnownIds(Batch batch, StepInFlight step) {
        boolean feeds = false;
        for (SequenceChunk c : batch.chunks()) feeds |= c.feedsPreviousSample();
        if (!feeds) return batch;
        List<SequenceChunk> chunks = new ArrayList<>(batch.chunks().size());
        List<SamplingParams> params = new ArrayList<>();
        List<SequenceGrammar> grammars = new ArrayList<>();
        int[] planIndex = new int[batch.chunks().size()];
        for (int b = 0; b < batch.chunks().size(); b++) {
            SequenceChunk c = batch.chunks().get(b);
            if (c.feedsPreviousSample()) {
                Integer known = lastDrawn.get(c.sequenceId());
                if (known == null) {
                    fail(batch.planIndex()[b], step.sampled(), step.errors(),
                            "the token drawn before this step was lost");
                    continue;
                }
                int[] tokens = c.tokens().clone();
                for (int t = 0; t < tokens.length; t++) if (tokens[t] == SequenceChunk.PREVIOUS_SAMPLE) tokens[t] = known;
                c = new SequenceChunk(c.sequenceId(), tokens, c.startPosition(), c.blockTable(), c.wantLogits());
            }
            planIndex[chunks.size()] = batch.planIndex()[b];
            chunks.add(c);
            params.add(batch.deviceParams().get(b));
            grammars.add(batch.deviceGrammars().get(b));
        }
        return new Batch(chunks, Arrays.copyOf(planIndex, chunks.size()), params, grammars);
    }

    private static boolean hasGrammar(Batch batch) {
        for (SequenceGrammar g : batch.deviceGrammars()) if (g != null) return true;
        return false;
    }

    /** One backend call: with grammar masks (synchronous), else {@link Backend#submit}. */
    private PendingStep start(Batch batch) {
        List<SequenceChunk> chunks = batch.chunks();
        List<SequenceGrammar> grammars = batch.deviceGrammars();
        if (hasGrammar(batch)) {
            return PendingStep.done(backend.forwardAndSample(chunks, batch.deviceParams(), new Backend.TokenMasks() {
                @Override
                public boolean has(int chunk) {
                    return grammars.get(chunk) != null;
                }

                @Override
                public long[] await(int chunk) {
                    return grammars.get(chunk).awaitMask();
                }
            }));
        }
        return backend.submit(chunks, batch.deviceParams());
    }

    private static void fail(int i, int[] sampled, String[] errors, String message) {
        sampled[i] = Scheduler.FAILED;
        errors[i] = message;
    }
}
