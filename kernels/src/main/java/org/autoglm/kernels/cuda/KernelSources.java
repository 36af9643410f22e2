package org.autoglm.kernels.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/** The CUDA C sources shipped as resources of this jar, and the header they all include. */
public final class KernelSources {

    /** The shared header, passed to NVRTC under this include name. */
    public static final String HEADER = "common.cuh";

    /** Every kernel source; each becomes one module. */
    public static final List<String> SOURCES = List.of(
            "embedding.cu", "rmsnorm.cu", "rope.cu", "attention.cu", "activation.cu", "sampling.cu",
            "convert.cu", "timing.cu", "gemv.cu");

    /** Sources that use bf16 tensor-core instructions (mma.sync): compiled only for bf16 on sm_80 and newer. */
    public static final List<String> TENSOR_CORE_SOURCES = List.of("flash_attention.cu");

    private static final String DIR = "/org/autoglm/kernels/cuda/";

    private KernelSources() {}

    /** The sources to compile for an element type and compute capability (e.g. 90 for sm_90). */
    public static List<String> forTarget(boolean bf16, int computeCapability) {
        if (!bf16 || computeCapability < 80) return SOURCES;
        List<String> all = new java.util.ArrayList<>(SOURCES);
        all.addAll(TENSOR_CORE_SOURCES);
        return List.copyOf(all);
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
