package org.autoglm.kernels;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.autoglm.kernels.cuda.KernelCompiler;

/**
 * Settings of the CUDA backend, with their defaults: the one place they are written. Filled through
 * {@code CudaBackend.open(dir, cfg -> ...)}; the CLI fills it from {@code --gpu-memory-utilization},
 * {@code --quantize} and {@code --cuda-option NAME=VALUE} ({@link #set}). Nothing here reads system properties.
 * What each choice measured on which GPU is in {@code bench/RESULTS.md}.
 */
public final class CudaConfig {

    /** Element type of weights, GEMM inputs and the KV cache. Arithmetic is fp32 either way. */
    public enum Precision {
        /** fp32 for fp32 checkpoints (exact parity with the reference), bf16 otherwise. */
        AUTO,
        FP32,
        BF16
    }

    /** GPU ordinal. */
    public int device = 0;
    public Precision precision = Precision.AUTO;
    /**
     * Weight-only quantization of the linear layers ({@code --quantize fp8|int8}), per output channel; null: the
     * weights run in {@link #precision}.
     */
    public WeightQuantization quantize = null;
    /** Share of the GPU's memory we may use in all (weights, buffers, KV cache). */
    public double gpuMemoryUtilization = 0.90;
    /** Tokens per launch of the forward pass; longer steps are cut into several launches. */
    public int maxBatchTokens = 2048;
    /** Sequences per step; also the largest decode batch with a CUDA graph. */
    public int maxSeqs = 256;
    /** Longest sequence; 0 means the checkpoint's max_position_embeddings. */
    public int maxModelLen = 0;
    /** Replay decode steps from CUDA graphs captured per batch-size bucket. */
    public boolean cudaGraphs = true;
    /**
     * Asynchronous scheduling: the engine plans and launches step n+1 while the GPU runs step n, and tokens drawn on
     * the GPU feed the next step's embedding there (feed_sampled_ids); off, every step waits for its ids. Off by
     * default until a GPU run has shown its ids equal to synchronous steps (built under kernel emulation only).
     */
    public boolean asyncScheduling = false;
    /**
     * A step that is one prompt from position 0 with at least this many tokens runs attention as GEMMs on tensor
     * cores (needs heads × maxBatchTokens² × 6 bytes of scratch); 0 turns it off. Used only where flash attention
     * is not.
     */
    public int denseAttentionMinTokens = 512;
    /**
     * Prefill steps (packed chunks, each over its cached prefix) run flash attention on tensor cores (bf16, sm_80+)
     * instead of paged attention on CUDA cores, and whole prompts no longer take the cuBLAS path of
     * {@link #denseAttentionMinTokens}, which writes and rereads a tokens × tokens score matrix per head.
     */
    public boolean flashAttention = true;
    /**
     * Decode steps of one sequence run {@code SingleTokenForward}: our GEMV kernels instead of cuBLAS, with the small
     * kernels around them fused in, five launches per layer, each launched (sm_90+) with programmatic dependent
     * launch so that its weight loads start while the kernel ahead ends; and split-K attention merges its partials
     * in its last block instead of a combine launch. Batch 1 is weight streaming, and this streams closer to the
     * limit than cuBLAS's GEMM kernels do.
     */
    public boolean fusedDecode = true;
    /**
     * Decode steps (one token per sequence) run decode_attention: a block per GQA group with the keys spread over
     * its warps, the cached keys copied to shared memory before the kernel ahead has finished (where
     * {@code GlmKernels.hasDecodeAttention} holds: a group of up to 4 at any batch, a larger one while its blocks
     * fit one wave). Paged attention's 16-row tiles hold a group of 4 in one warp and leave three idle.
     */
    public boolean decodeAttention = true;
    /**
     * decode_attention's warps per block: 0 for a warp per query head of the GQA group, at least 4; or 4 to 16 for
     * every model. The kernel's time is a chain of dependent steps run by few warps (Nsight Compute: one warp per
     * scheduler, ~10 cycles per instruction), so a block per group of 16 needs 16 warps; a group of 4 gains
     * nothing from more.
     */
    public int decodeAttentionWarps = 0;
    /**
     * decode_attention's split size: about this many (key, query head) pairs per block ({@code
     * LaunchGeometry.decodeSplits}). Small splits: the more blocks share a short context, the shorter each block's
     * chain of loads.
     */
    public int decodeKeyRowsPerSplit = 64;
    /**
     * gemv.cu's projections with fewer row pairs than the GPU holds warps split each pair's columns over 2 or 4
     * warps ({@code LaunchGeometry.gemvParts}): twice the loads in flight for narrow projections (glm-edge-1.5b's
     * o_proj and down_proj).
     */
    public boolean sliceNarrowGemvs = true;
    /**
     * With {@code --quantize fp8} on sm_90, prefill GEMMs (more rows than gemv_q8 takes) run cuBLASLt's fp8 GEMM:
     * the activations quantized to e4m3 per row, both operands at one byte, the scales applied to its fp32 result.
     * Off, or where cuBLASLt has no fp8 algorithm, they run {@link #quantizedTiles}.
     */
    public boolean cublasLtFp8 = true;
    /**
     * Quantized prefill GEMMs without cuBLASLt's fp8 (int8; fp8 below sm_90) run gemm_q8_tiles: tiles of the
     * weights dequantized into shared memory and multiplied on tensor cores (bf16, sm_80+). Off: each matrix is
     * dequantized whole into a scratch, then cuBLAS runs.
     */
    public boolean quantizedTiles = true;
    /**
     * Preprocessor definitions ({@code NAME=VALUE}) for every kernel source, part of the kernel cache key: for
     * trying a kernel variant on a GPU without a rebuild ({@code FA_MIN_BLOCKS}, {@code PDL_EARLY_TRIGGER=0},
     * {@code AUTOGLM_TRACE=1}).
     */
    public List<String> defines = List.of();
    /**
     * Measurement only, never for serving: kernels by name that are not launched, so that bench-decode shows what
     * one kernel costs inside the real graph step. Every result is wrong while it is set.
     */
    public Set<String> skipKernels = Set.of();
    /** Where compiled kernels are cached. */
    public Path kernelCache = KernelCompiler.defaultCacheDir();

    /** The names {@link #set} accepts, as the CLI's help and errors list them. */
    public static final List<String> OPTION_NAMES = List.of("flash-attention", "fused-decode", "decode-attention",
            "decode-attention-warps", "decode-key-rows-per-split", "slice-narrow-gemvs", "dense-attention-min-tokens",
            "cublaslt-fp8", "quantized-tiles", "cuda-graphs", "async-scheduling", "define", "skip-kernels");

    /**
     * Applies one {@code NAME=VALUE} tuning option ({@code --cuda-option}); {@code define} adds one definition
     * ({@code define=FA_MIN_BLOCKS=2}), {@code skip-kernels} takes a comma-separated list.
     *
     * @throws IllegalArgumentException naming the option and what it accepts
     */
    public void set(String assignment) {
        int eq = assignment.indexOf('=');
        if (eq <= 0) {
            throw new IllegalArgumentException("--cuda-option " + assignment + ": give NAME=VALUE, NAME one of "
                    + String.join(", ", OPTION_NAMES));
        }
        String name = assignment.substring(0, eq).trim().toLowerCase(Locale.ROOT);
        String value = assignment.substring(eq + 1).trim();
        switch (name) {
            case "flash-attention" -> flashAttention = bool(name, value);
            case "fused-decode" -> fusedDecode = bool(name, value);
            case "decode-attention" -> decodeAttention = bool(name, value);
            case "slice-narrow-gemvs" -> sliceNarrowGemvs = bool(name, value);
            case "cuda-graphs" -> cudaGraphs = bool(name, value);
            case "cublaslt-fp8" -> cublasLtFp8 = bool(name, value);
            case "quantized-tiles" -> quantizedTiles = bool(name, value);
            case "async-scheduling" -> asyncScheduling = bool(name, value);
            case "decode-attention-warps" -> decodeAttentionWarps = warps(integer(name, value));
            case "decode-key-rows-per-split" -> decodeKeyRowsPerSplit = positive(name, integer(name, value));
            case "dense-attention-min-tokens" -> denseAttentionMinTokens = Math.max(0, integer(name, value));
            case "define" -> {
                if (!value.matches("[A-Za-z_][A-Za-z0-9_]*(=[^\\s]*)?")) {
                    throw new IllegalArgumentException("--cuda-option define=" + value
                            + ": give a preprocessor definition NAME or NAME=VALUE");
                }
                List<String> more = new ArrayList<>(defines);
                more.add(value);
                defines = List.copyOf(more);
            }
            case "skip-kernels" -> {
                Set<String> names = new LinkedHashSet<>(skipKernels);
                Arrays.stream(value.split(",")).map(String::strip).filter(n -> !n.isEmpty()).forEach(names::add);
                skipKernels = Set.copyOf(names);
            }
            default -> throw new IllegalArgumentException("--cuda-option: unknown option '" + name + "'; known: "
                    + String.join(", ", OPTION_NAMES));
        }
    }

    /** Whether the kernels are compiled with the step timeline ({@code define=AUTOGLM_TRACE=1}). */
    public boolean traced() {
        return defines.stream().anyMatch(d -> d.equals("AUTOGLM_TRACE") || d.startsWith("AUTOGLM_TRACE=")
                && !d.equals("AUTOGLM_TRACE=0"));
    }

    boolean bf16For(String checkpointDtype) {
        return switch (precision) {
            case FP32 -> false;
            case BF16 -> true;
            case AUTO -> !"float32".equals(checkpointDtype);
        };
    }

    private static boolean bool(String name, String value) {
        return switch (value.toLowerCase(Locale.ROOT)) {
            case "true", "on", "1" -> true;
            case "false", "off", "0" -> false;
            default -> throw new IllegalArgumentException("--cuda-option " + name + "=" + value
                    + ": give true or false");
        };
    }

    private static int integer(String name, String value) {
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--cuda-option " + name + "=" + value + ": give a whole number");
        }
    }

    private static int positive(String name, int value) {
        if (value < 1) throw new IllegalArgumentException("--cuda-option " + name + "=" + value + ": must be 1 or more");
        return value;
    }

    private static int warps(int value) {
        if (value != 0 && (value < 4 || value > 16)) {
            throw new IllegalArgumentException("--cuda-option decode-attention-warps=" + value
                    + ": decode_attention runs 4 to 16 warps per block (0: a warp per query head of the group)");
        }
        return value;
    }
}
