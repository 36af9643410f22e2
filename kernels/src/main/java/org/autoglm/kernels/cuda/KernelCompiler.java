package org.autoglm.kernels.cuda;

import com.sun.jna.Pointer;
import com.sun.jna.ptr.PointerByReference;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Compiles the kernel sources with NVRTC for the GPU present and caches the binaries on disk, keyed by the
 * source hash, the element type and the architecture ({@code ~/.cache/autoglm/kernels} or
 * {@code $AUTOGLM_KERNEL_CACHE}). A GPU newer than NVRTC knows gets PTX for the newest architecture NVRTC
 * supports, which the driver compiles on load.
 */
public final class KernelCompiler {

    private static final Logger LOG = LoggerFactory.getLogger(KernelCompiler.class);

    private final Path cacheDir;
    /** Extra {@code -D} options for every source (the kernels' #ifndef defaults give way to them). */
    private final List<String> extraDefines;
    private Nvrtc nvrtc;

    public KernelCompiler(Path cacheDir) {
        this(cacheDir, List.of());
    }

    /** With preprocessor definitions ({@code NAME=VALUE}, {@code CudaConfig.defines}) for every source. */
    public KernelCompiler(Path cacheDir, List<String> defines) {
        this.cacheDir = cacheDir;
        this.extraDefines = defines.stream().map(String::trim).filter(d -> !d.isEmpty()).map(d -> "-D" + d).toList();
    }

    public static Path defaultCacheDir() {
        String env = System.getenv("AUTOGLM_KERNEL_CACHE");
        if (env != null && !env.isBlank()) return Path.of(env);
        return Path.of(System.getProperty("user.home"), ".cache", "autoglm", "kernels");
    }

    /** A loadable image (cubin or NUL-terminated PTX) of {@code source} for compute capability {@code cc}. */
    public byte[] compile(String source, boolean bf16, int cc) {
        String text = KernelSources.read(source);
        String header = KernelSources.read(KernelSources.HEADER);
        String key = source.replace(".cu", "") + "-" + KernelSources.hash(text, header, String.join(" ", extraDefines))
                + (bf16 ? "-bf16" : "-f32") + "-sm" + cc + ".bin";
        Path cached = cacheDir.resolve(key);
        if (Files.isRegularFile(cached)) {
            try {
                return Files.readAllBytes(cached);
            } catch (IOException e) {
                LOG.debug("unreadable kernel cache entry {}: {}", cached, e.getMessage());
            }
        }
        byte[] image = nvrtcCompile(source, text, header, bf16, cc);
        try {
            Files.createDirectories(cacheDir);
            Path tmp = Files.createTempFile(cacheDir, key, ".tmp");
            Files.write(tmp, image);
            Files.move(tmp, cached, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            LOG.warn("cannot cache compiled kernels in {} ({}); they will be compiled again next start", cacheDir,
                    e.getMessage());
        }
        return image;
    }

    private byte[] nvrtcCompile(String name, String text, String header, boolean bf16, int cc) {
        if (nvrtc == null) nvrtc = Nvrtc.load();
        int arch = newestSupportedArch(cc);
        boolean cubin = arch == cc;
        List<String> options = new ArrayList<>(List.of(
                (cubin ? "--gpu-architecture=sm_" : "--gpu-architecture=compute_") + arch, "--std=c++17", "-lineinfo"));
        if (bf16) options.add("-DAUTOGLM_BF16");
        options.addAll(extraDefines);
        PointerByReference ref = new PointerByReference();
        check(nvrtc.nvrtcCreateProgram(ref, text, name, 1, new String[] {header},
                new String[] {KernelSources.HEADER}), "nvrtcCreateProgram(" + name + ")");
        Pointer program = ref.getValue();
        try {
            int rc = nvrtc.nvrtcCompileProgram(program, options.size(), options.toArray(String[]::new));
            if (rc != 0) {
                throw new CudaException("NVRTC could not compile " + name + " for sm_" + cc + " with " + options
                        + ": " + nvrtc.nvrtcGetErrorString(rc) + "\n" + log(program), rc);
            }
            long[] size = new long[1];
            byte[] image;
            if (cubin) {
                check(nvrtc.nvrtcGetCUBINSize(program, size), "nvrtcGetCUBINSize");
                image = new byte[(int) size[0]];
                check(nvrtc.nvrtcGetCUBIN(program, image), "nvrtcGetCUBIN");
            } else {
                check(nvrtc.nvrtcGetPTXSize(program, size), "nvrtcGetPTXSize");
                image = new byte[(int) size[0]];   // includes the terminating NUL cuModuleLoadData needs
                check(nvrtc.nvrtcGetPTX(program, image), "nvrtcGetPTX");
            }
            return image;
        } finally {
            nvrtc.nvrtcDestroyProgram(ref);
        }
    }

    /** {@code cc} when NVRTC can target it, else the newest architecture it knows below it. */
    private int newestSupportedArch(int cc) {
        int[] n = new int[1];
        check(nvrtc.nvrtcGetNumSupportedArchs(n), "nvrtcGetNumSupportedArchs");
        int[] archs = new int[n[0]];
        check(nvrtc.nvrtcGetSupportedArchs(archs), "nvrtcGetSupportedArchs");
        return chooseArch(archs, cc);
    }

    static int chooseArch(int[] supported, int cc) {
        int best = -1;
        for (int a : supported) {
            if (a == cc) return cc;
            if (a < cc && a > best) best = a;
        }
        if (best < 0) {
            throw new CudaException("this NVRTC supports " + Arrays.toString(supported) + " but the GPU is sm_" + cc
                    + ", older than all of them; install a CUDA toolkit that supports it");
        }
        return best;
    }

    private String log(Pointer program) {
        long[] size = new long[1];
        if (nvrtc.nvrtcGetProgramLogSize(program, size) != 0 || size[0] <= 1) return "";
        byte[] log = new byte[(int) size[0]];
        nvrtc.nvrtcGetProgramLog(program, log);
        return new String(log, 0, log.length - 1, StandardCharsets.UTF_8);
    }

    private void check(int rc, String call) {
        if (rc != 0) throw new CudaException(call + " failed: " + nvrtc.nvrtcGetErrorString(rc), rc);
    }
}
