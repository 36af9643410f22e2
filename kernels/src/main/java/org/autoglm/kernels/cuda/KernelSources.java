package org.autoglm.kernels.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The CUDA C sources shipped as resources of this jar, and the header they all include. */
public final class KernelSources {

    /** The shared header, passed to NVRTC under this include name. */
    public static final String HEADER = "common.cuh";

    /** Every kernel source; each becomes one module. */
    public static final List<String> SOURCES = List.of(
            "embedding.cu", "rmsnorm.cu", "rope.cu", "attention.cu", "activation.cu", "sampling.cu",
            "convert.cu", "timing.cu", "gemv.cu", "quantized.cu");

    /** Sources that use bf16 tensor-core instructions (mma.sync): compiled only for bf16 on sm_80 and newer. */
    public static final List<String> TENSOR_CORE_SOURCES = List.of("flash_attention.cu", "quantized_gemm.cu");

    /**
     * Sources the backend can do without, and what runs instead: one that NVRTC or the driver refuses (an old CUDA,
     * an unusual GPU) costs speed, not the node.
     */
    public static final Map<String, String> OPTIONAL_SOURCES = Map.of(
            "flash_attention.cu", "prefill attention runs as paged attention, or cuBLAS GEMMs for whole prompts",
            "gemv.cu", "batch-1 decode steps run on cuBLAS",
            "quantized.cu", "--quantize fp8|int8 is refused",
            "quantized_gemm.cu", "quantized prefill GEMMs dequantize each matrix whole, then run cuBLAS");

    private static final Logger LOG = LoggerFactory.getLogger(KernelSources.class);
    private static final String DIR = "/org/autoglm/kernels/cuda/";

    private KernelSources() {}

    /** The sources to compile for an element type and compute capability (e.g. 90 for sm_90). */
    public static List<String> forTarget(boolean bf16, int computeCapability) {
        if (!bf16 || computeCapability < 80) return SOURCES;
        List<String> all = new java.util.ArrayList<>(SOURCES);
        all.addAll(TENSOR_CORE_SOURCES);
        return List.copyOf(all);
    }

    /**
     * Compiles and loads each of {@code sources} with {@code load}. An optional source that fails is left out of the
     * result, with a warning that says what runs instead; any other failure is thrown.
     */
    public static <T> Map<String, T> loadAll(List<String> sources, Function<String, T> load) {
        Map<String, T> loaded = new LinkedHashMap<>();
        for (String source : sources) {
            try {
                loaded.put(source, load.apply(source));
            } catch (CudaException e) {
                String fallback = OPTIONAL_SOURCES.get(source);
                if (fallback == null) throw e;
                LOG.warn("{} is not available on this GPU ({}); {}", source, e.getMessage().lines().findFirst()
                        .orElse(""), fallback);
            }
        }
        return loaded;
    }

    public static String read(String name) {
        try (InputStream in = KernelSources.class.getResourceAsStream(DIR + name)) {
            if (in == null) throw new IllegalStateException("kernel source " + name + " is missing from the jar");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** SHA-256 of the given texts, hex: the compile cache key's source part. */
    public static String hash(String... texts) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            for (String t : texts) {
                sha.update(t.getBytes(StandardCharsets.UTF_8));
                sha.update((byte) 0);
            }
            return HexFormat.of().formatHex(sha.digest()).substring(0, 24);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
