package org.autoglm.kernels;

import static org.autoglm.kernels.cuda.CuDriver.check;

import com.sun.jna.Pointer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.autoglm.kernels.cuda.CuDriver;
import org.autoglm.models.backend.PendingStep;
import org.autoglm.models.backend.SampledStep;
import org.autoglm.models.backend.SequenceChunk;
import org.autoglm.models.sampling.SamplingParams;

/**
 * The CUDA backend's bookkeeping for asynchronous scheduling (vLLM's async scheduling): which logit row drew each
 * sequence's token in the last step launched, so the next step can feed those ids to its embedding on the GPU
 * (feed_sampled_ids reads {@code -(row + 1)} in the step's ids), and the steps whose ids are still on their way to
 * the host. The host's staging buffers come in {@link #SLOTS} copies used in turn: a slot is written again only
 * after the step that used it last has been read, so the host never overwrites what a queued copy still reads.
 */
final class AsyncSteps implements AutoCloseable {

    /** Staging copies: one step being read while the next is queued. */
    static final int SLOTS = 2;

    private final long[] events = new long[SLOTS];
    private final Launched[] inSlot = new Launched[SLOTS];
    private int slot;
    /** Logit rows of the last launch that sampled, by sequence; empty after a launch that did not. */
    private Map<Long, Integer> drawnRows = Map.of();
    /** The step launched last, for the ids it drew outside {@link #drawnRows} (earlier pieces of a split step). */
    private PendingStep previous;
    private List<SequenceChunk> previousChunks = List.of();

    AsyncSteps() {
        for (int i = 0; i < SLOTS; i++) {
            long[] e = new long[1];
            check(CuDriver.cuEventCreate(e, 2 /* CU_EVENT_DISABLE_TIMING */), "cuEventCreate");
            events[i] = e[0];
        }
    }

    /**
     * Takes the next staging slot for a launch, first reading the step that used it (the engine has read it already
     * when it keeps one step in flight; this only guards other callers).
     */
    int nextSlot() {
        slot = (slot + 1) % SLOTS;
        Launched last = inSlot[slot];
        if (last != null) {
            inSlot[slot] = null;
            try {
                last.await();
            } catch (RuntimeException e) {
                // its reader hears about it
            }
        }
        return slot;
    }

    /**
     * The chunks with each {@link SequenceChunk#PREVIOUS_SAMPLE} turned into {@code -(row + 1)} where the last launch
     * drew it on the GPU and {@code onDevice} (the step is one launch, fed before it samples), else into the id itself
     * (read from the previous step, waiting for it).
     */
    List<SequenceChunk> feed(List<SequenceChunk> chunks, boolean onDevice) {
        List<SequenceChunk> out = null;
        for (int i = 0; i < chunks.size(); i++) {
            SequenceChunk c = chunks.get(i);
            if (!c.feedsPreviousSample()) continue;
            Integer row = onDevice ? drawnRows.get(c.sequenceId()) : null;
            int token = row != null ? -(row + 1) : drawnOnHost(c.sequenceId());
            int[] tokens = c.tokens().clone();
            for (int t = 0; t < tokens.length; t++) if (tokens[t] == SequenceChunk.PREVIOUS_SAMPLE) tokens[t] = token;
            if (out == null) out = new java.util.ArrayList<>(chunks);
            out.set(i, new SequenceChunk(c.sequenceId(), tokens, c.startPosition(), c.blockTable(), c.wantLogits()));
        }
        return out == null ? chunks : out;
    }

    private int drawnOnHost(long sequenceId) {
        if (previous != null) {
            SampledStep last = previous.await();
            for (int i = 0; i < previousChunks.size(); i++) {
                if (previousChunks.get(i).sequenceId() == sequenceId && last.tokenIds()[i] >= 0) return last.tokenIds()[i];
            }
        }
        throw new IllegalArgumentException("sequence " + sequenceId + " asks for a token the previous step did not"
                + " draw on the GPU");
    }

    /**
     * Records which logit row drew which sequence in the launch just made ({@code logitChunk[r]}: the part of row r;
     * {@code params} per part, null where not sampled), or that it drew none.
     */
    void launched(List<SequenceChunk> parts, int[] logitChunk, List<SamplingParams> params) {
        if (params == null) {
            drawnRows = Map.of();
            return;
        }
        Map<Long, Integer> rows = new HashMap<>();
        for (int r = 0; r < logitChunk.length && logitChunk[r] >= 0; r++) {
            if (params.get(logitChunk[r]) != null) rows.put(parts.get(logitChunk[r]).sequenceId(), r);
        }
        drawnRows = rows;
    }

    /** The whole step just submitted: what {@link #feed} asks when a sequence's row is not in the last launch. */
    PendingStep submitted(List<SequenceChunk> chunks, PendingStep step) {
        previous = step;
        previousChunks = chunks;
        return step;
    }

    /**
     * A step queued on {@code stream} whose ids are copied into {@code idsHost} (in slot {@link #slot}'s staging):
     * read once the event behind the copy has fired. {@code chunkOfRow[r]} is the chunk index of row r.
     */
    PendingStep queued(long stream, Pointer idsHost, int rows, int[] chunkOfRow, int numChunks) {
        check(CuDriver.cuEventRecord(events[slot], stream), "cuEventRecord");
        Launched step = new Launched(events[slot], idsHost, rows, chunkOfRow, numChunks);
        inSlot[slot] = step;
        return step;
    }

    @Override
    public void close() {
        for (long e : events) CuDriver.cuEventDestroy_v2(e);
    }

    /** One queued step; reading it waits for its event, once. */
    private static final class Launched implements PendingStep {
        private final long event;
        private final Pointer idsHost;
        private final int rows;
        private final int[] chunkOfRow;
        private final int numChunks;
        private SampledStep result;
        private RuntimeException failure;

        Launched(long event, Pointer idsHost, int rows, int[] chunkOfRow, int numChunks) {
            this.event = event;
            this.idsHost = idsHost;
            this.rows = rows;
            this.chunkOfRow = chunkOfRow;
            this.numChunks = numChunks;
        }

        @Override
        public SampledStep await() {
            if (failure != null) throw failure;
            if (result != null) return result;
            try {
                check(CuDriver.cuEventSynchronize(event), "cuEventSynchronize(step)");
            } catch (RuntimeException e) {
                failure = e;
                throw e;
            }
            int[] drawn = idsHost.getIntArray(0, rows);
            int[] ids = new int[numChunks];
            java.util.Arrays.fill(ids, -1);
            for (int r = 0; r < rows; r++) ids[chunkOfRow[r]] = drawn[r];
            result = new SampledStep(ids, new float[numChunks][]);
            return result;
        }
    }
}
