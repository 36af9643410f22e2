package org.autoglm.kernels;

import static org.autoglm.kernels.cuda.CuDriver.check;

import com.sun.jna.Pointer;
import java.util.List;
import org.autoglm.kernels.cuda.CuDriver;
import org.autoglm.kernels.cuda.CudaDevice;
import org.autoglm.kernels.cuda.DeviceBuffer;
import org.autoglm.kernels.plan.StepPacker.PackedStep;
import org.autoglm.kernels.plan.StepSplitter;
import org.autoglm.models.backend.Backend.TokenMasks;
import org.autoglm.models.sampling.SamplingParams;

/**
 * Sampling under grammar masks on the GPU: the step's forward pass has been queued without sampling; the host waits
 * for each constrained row's mask while the GPU computes, uploads them, and apply_token_mask then sample_tokens run
 * behind the forward. Device and pinned buffers are allocated on first use: maxSeqs rows of mask words, then each
 * logit row's mask row (-1: unconstrained).
 */
final class GrammarMasks implements AutoCloseable {

    private final CudaDevice device;
    private final GlmKernels kernels;
    private final int maxSeqs;
    private final int vocab;
    private DeviceBuffer maskDevice;
    private Pointer maskHost;

    GrammarMasks(CudaDevice device, GlmKernels kernels, int maxSeqs, int vocab) {
        this.device = device;
        this.kernels = kernels;
        this.maxSeqs = maxSeqs;
        this.vocab = vocab;
    }

    /** Uploads the masks of the step's constrained rows (waiting for them as needed), masks the logits, samples. */
    void sample(PackedStep p, int rows, List<StepSplitter.Piece> step, List<SamplingParams> partParams,
            TokenMasks masks, long logits, StepStaging staging) {
        int words = (vocab + 63) / 64;
        long rowsOffset = 8L * maxSeqs * words;
        if (maskDevice == null) {
            maskDevice = device.allocate(rowsOffset + 4L * maxSeqs, "grammar masks");
            maskHost = device.allocateHost(rowsOffset + 4L * maxSeqs);
        }
        for (int r = 0; r < rows; r++) {
            int chunk = p.logitChunk()[r];
            int index = step.get(chunk).index();
            long[] mask = partParams.get(chunk) != null && step.get(chunk).chunk().wantLogits() && masks.has(index)
                    ? masks.await(index) : null;   // the GPU runs the forward meanwhile
            if (mask != null) maskHost.write(8L * r * words, mask, 0, words);
            maskHost.setInt(rowsOffset + 4L * r, mask != null ? r : -1);
        }
        check(CuDriver.cuMemcpyHtoDAsync_v2(maskDevice.address(), maskHost, rowsOffset, device.stream()),
                "cuMemcpyHtoDAsync(grammar masks)");
        check(CuDriver.cuMemcpyHtoDAsync_v2(maskDevice.address() + rowsOffset, maskHost.share(rowsOffset), 4L * rows,
                device.stream()), "cuMemcpyHtoDAsync(grammar mask rows)");
        staging.uploadSampling(p, StepLauncher.pieces(step), partParams);
        kernels.dependentLaunches(false);   // these two follow the forward's last kernel strictly
        kernels.applyTokenMask(logits, rows, vocab, maskDevice.address(), words, maskDevice.address() + rowsOffset);
        SamplingBuffers b = staging.sampling();
        kernels.sample(logits, rows, vocab, b.temperature(), b.topK(), b.topP(), b.seeds(), b.steps(), b.outIds());
    }

    @Override
    public void close() {
        if (maskHost != null) device.freeHost(maskHost);
    }
}
