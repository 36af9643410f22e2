package org.autoglm.kernels;

import static org.autoglm.kernels.cuda.CuDriver.check;

import com.sun.jna.Pointer;
import java.util.List;
import org.autoglm.kernels.cuda.CuDriver;
import org.autoglm.kernels.cuda.CudaDevice;
import org.autoglm.kernels.cuda.DeviceBuffer;
import org.autoglm.kernels.plan.StepLayout;
import org.autoglm.kernels.plan.StepPacker.PackedStep;
import org.autoglm.models.backend.SequenceChunk;
import org.autoglm.models.sampling.SamplingParams;

/**
 * A step's way to the GPU and back: its metadata and sampling parameters written to pinned host memory and copied
 * to their device buffers, the drawn ids and host-sampled logits copied back. The pinned staging comes in
 * {@link AsyncSteps#SLOTS} copies used in turn ({@link #use}), so that the host writes one step's while a queued copy
 * still reads the last one's.
 */
final class StepStaging implements AutoCloseable {

    private final CudaDevice device;
    private final int maxSeqs;
    private final int vocab;
    private final int metaCapacity;
    private final DeviceBuffer metaDevice;
    private final Pointer metaHost;
    private final DeviceBuffer samplingDevice;
    private final Pointer samplingHost;
    private final long seedNonce = System.nanoTime();
    private Pointer logitsHost;
    /** The staging copy the last launch wrote. */
    private int stage;

    /** Room for {@code metaCapacity} ints of metadata and {@code maxSeqs} rows of sampling, {@code vocab} logits. */
    StepStaging(CudaDevice device, int metaCapacity, int maxSeqs, int vocab) {
        this.device = device;
        this.maxSeqs = maxSeqs;
        this.vocab = vocab;
        this.metaCapacity = metaCapacity;
        metaDevice = device.allocate(4L * metaCapacity, "step metadata");
        metaHost = device.allocateHost(4L * metaCapacity * AsyncSteps.SLOTS);
        samplingDevice = device.allocate(SamplingBuffers.bytes(maxSeqs), "sampling parameters");
        samplingHost = device.allocateHost(SamplingBuffers.bytes(maxSeqs) * AsyncSteps.SLOTS);
    }

    /** The staging copy the next step writes. */
    void use(int slot) {
        stage = slot;
    }

    /** The device address of the step metadata. */
    long meta() {
        return metaDevice.address();
    }

    SamplingBuffers sampling() {
        return SamplingBuffers.at(samplingDevice.address(), maxSeqs);
    }

    /** Stages {@code p}'s metadata and queues its copy to the device. */
    void uploadMeta(PackedStep p) {
        StepLayout l = p.layout();
        if (l.totalInts() > metaCapacity) {
            throw new IllegalStateException("step metadata of " + l + " exceeds the buffer of " + metaCapacity + " ints");
        }
        Pointer meta = metaHost.share(4L * metaCapacity * stage);
        meta.write(0, p.data(), 0, l.totalInts());
        check(CuDriver.cuMemcpyHtoDAsync_v2(metaDevice.address(), meta, 4L * l.totalInts(), device.stream()),
                "cuMemcpyHtoDAsync(step metadata)");
    }

    /**
     * Stages the sampling parameters of {@code p}'s logit rows and queues their copy; not the ids: the last step's
     * stay on the GPU for feed_sampled_ids.
     */
    void uploadSampling(PackedStep p, List<SequenceChunk> parts, List<SamplingParams> params) {
        writeSamplingParams(p, parts, params);
        check(CuDriver.cuMemcpyHtoDAsync_v2(samplingDevice.address(), samplingStage(),
                SamplingBuffers.paramBytes(maxSeqs), device.stream()), "cuMemcpyHtoDAsync(sampling)");
    }

    /** Queues the copy of the first {@code rows} drawn ids to the pinned staging; returns where they will be. */
    Pointer copyIdsBack(int rows) {
        long idsOffset = sampling().outIds() - samplingDevice.address();
        Pointer idsHost = samplingStage().share(idsOffset);
        check(CuDriver.cuMemcpyDtoHAsync_v2(idsHost, samplingDevice.address() + idsOffset, 4L * Math.max(rows, 1),
                device.stream()), "cuMemcpyDtoHAsync(token ids)");
        return idsHost;
    }

    /** Queues the copy of logit rows {@code [row, row + rows)} from {@code logits} to the pinned logits. */
    void copyLogitsBack(long logits, int row, int rows) {
        if (logitsHost == null) logitsHost = device.allocateHost(4L * maxSeqs * vocab);
        check(CuDriver.cuMemcpyDtoHAsync_v2(logitsHost.share(4L * row * vocab), logits + 4L * row * vocab,
                4L * rows * vocab, device.stream()), rows == 1 ? "cuMemcpyDtoHAsync(logits row)" : "cuMemcpyDtoHAsync(logits)");
    }

    /** Logit row {@code row} as copied back (after the stream has been synchronized). */
    float[] logits(int row) {
        return logitsHost.getFloatArray(4L * row * vocab, vocab);
    }

    /** Row r of the sampling arrays belongs to logit row r, i.e. to part {@code p.logitChunk()[r]}. */
    private void writeSamplingParams(PackedStep p, List<SequenceChunk> parts, List<SamplingParams> params) {
        int s = maxSeqs;
        long temperature = 8L * s;
        long topK = temperature + 4L * s;
        long topP = topK + 4L * s;
        long steps = topP + 4L * s;
        Pointer samplingHost = samplingStage();
        samplingHost.setMemory(0, SamplingBuffers.bytes(s), (byte) 0);
        for (int row = 0; row < p.logitChunk().length; row++) {
            int chunk = p.logitChunk()[row];
            if (chunk < 0) continue;   // padding row: greedy on garbage, ignored
            SequenceChunk c = parts.get(chunk);
            SamplingParams sp = params.get(chunk);
            if (sp == null) continue; // sampled on the host: zeros mean greedy, which leaves the logits untouched
            long seed = sp.seed() != null ? sp.seed() : c.sequenceId() * 0x9E3779B97F4A7C15L ^ seedNonce;
            samplingHost.setLong(8L * row, seed);
            samplingHost.setFloat(temperature + 4L * row, (float) sp.temperature());
            samplingHost.setInt(topK + 4L * row, sp.topK());
            samplingHost.setFloat(topP + 4L * row, (float) sp.topP());
            samplingHost.setInt(steps + 4L * row, c.endPosition());
        }
    }

    private Pointer samplingStage() {
        return samplingHost.share(SamplingBuffers.bytes(maxSeqs) * stage);
    }

    @Override
    public void close() {
        for (Pointer host : new Pointer[] {metaHost, samplingHost, logitsHost}) {
            if (host != null) device.freeHost(host);
        }
    }
}
