package org.autoglm.kernels.emulation;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.autoglm.kernels.cuda.Fp8Gemm;
import org.autoglm.kernels.cuda.Gemm;
import org.autoglm.kernels.cuda.KernelRuntime;
import org.autoglm.kernels.cuda.KernelSources;
import org.autoglm.kernels.plan.LaunchGeometry;

/**
 * Our CUDA kernel sources compiled by g++ for the host ({@code src/test/native/cuda_emulation.h}: one fiber per
 * thread, barriers and warp shuffles as scheduling points) and run through the same {@link KernelRuntime} calls as
 * on the GPU. "Device" addresses are host addresses ({@link HostMemory}). The compiled library is cached under
 * {@code target/host-emulation} by the hash of everything it is built from.
 */
public final class HostEmulation implements KernelRuntime {

    private static final Path NATIVE = Path.of("src/test/native");
    private static final List<String> NATIVE_FILES =
            List.of("cuda_emulation.h", "emulation_entry.cpp", "emulation_selftest.cpp");
    private static final Pattern KERNEL =
            Pattern.compile("extern \"C\" __global__ void(?:\\s+__launch_bounds__\\([^)]*\\))?\\s+(\\w+)\\s*\\(");
    /** CUDA code type-puns through vector types, as nvcc allows: no strict aliasing. */
    private static final List<String> FLAGS = List.of("-std=c++20", "-O2", "-fno-strict-aliasing", "-U_FORTIFY_SOURCE", "-fPIC", "-shared",
            "-fvisibility=hidden", "-w");
    private static final Map<Boolean, Native> LIBRARIES = new ConcurrentHashMap<>();

    /** The emulation library's C entry points (emulation_entry.cpp). */
    public interface Native extends Library {
        Pointer emu_function(String name);

        int emu_launch(Pointer function, int gx, int gy, int gz, int bx, int by, int bz, int sharedBytes,
                Pointer params, byte[] error, int errorLength);

        void emu_linear(long x, long w, long y, int rows, int in, int out);

        void emu_scores(long q, long k, long scores, int tokens, int headDim, int heads);

        void emu_weighted_values(long probs, long v, long out, int tokens, int headDim, int heads, int outStride);
    }

    private final Native lib;
    private final boolean bf16;
    /** Dynamic shared memory each function was allowed beyond the default (see {@link #allowSharedBytes}). */
    private final Map<Long, Integer> sharedOptIn = new ConcurrentHashMap<>();
    /** Whether {@link #fp8Gemm} gives a host fp8 GEMM, as an sm_90 GPU gives cuBLASLt's (see {@link #withFp8Gemm}). */
    private boolean fp8Gemm;
    /** Sources left out, as if they had not compiled (see {@link #without}). */
    private final Set<String> left = ConcurrentHashMap.newKeySet();

    public HostEmulation(boolean bf16) {
        this.bf16 = bf16;
        this.lib = LIBRARIES.computeIfAbsent(bf16, HostEmulation::build);
    }

    /** Whether g++ is on this machine (the tests that need it are skipped otherwise). */
    public static boolean available() {
        try {
            return new ProcessBuilder("g++", "--version").redirectErrorStream(true).start().waitFor() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static Native build(boolean bf16) {
        try {
            StringBuilder all = new StringBuilder(String.join(" ", FLAGS) + (bf16 ? " bf16" : " fp32"));
            for (String f : NATIVE_FILES) all.append(Files.readString(NATIVE.resolve(f)));
            all.append(KernelSources.read(KernelSources.HEADER));
            for (String s : sources(bf16)) all.append(KernelSources.read(s));
            Path dir = Path.of("target", "host-emulation", KernelSources.hash(all.toString()));
            Path so = dir.resolve("libautoglm-emulation.so");
            if (!Files.isRegularFile(so)) compile(dir, so, bf16);
            return com.sun.jna.Native.load(so.toAbsolutePath().toString(), Native.class);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void compile(Path dir, Path so, boolean bf16) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve(KernelSources.HEADER), KernelSources.read(KernelSources.HEADER));
        List<String> cmd = new ArrayList<>(List.of("g++"));
        cmd.addAll(FLAGS);
        cmd.addAll(List.of("-include", NATIVE.resolve("cuda_emulation.h").toAbsolutePath().toString(),
                "-I", dir.toAbsolutePath().toString()));
        if (bf16) cmd.add("-DAUTOGLM_BF16");
        for (String source : sources(bf16)) {
            String text = KernelSources.read(source);
            Files.writeString(dir.resolve(source), text);
            StringBuilder wrapper = new StringBuilder("#include \"" + source + "\"\n");
            Matcher m = KERNEL.matcher(text);
            while (m.find()) wrapper.append("EMU_KERNEL(").append(m.group(1)).append(")\n");
            Path w = dir.resolve(source.replace(".cu", "-kernels.cpp"));
            Files.writeString(w, wrapper, StandardCharsets.UTF_8);
            cmd.add(w.toAbsolutePath().toString());
        }
        cmd.add(NATIVE.resolve("emulation_entry.cpp").toAbsolutePath().toString());
        cmd.add(NATIVE.resolve("emulation_selftest.cpp").toAbsolutePath().toString());
        Path tmp = dir.resolve("lib-" + ProcessHandle.current().pid() + ".tmp");
        cmd.addAll(List.of("-o", tmp.toAbsolutePath().toString()));
        Path log = dir.resolve("g++.log");
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            if (!p.waitFor(5, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new IllegalStateException("g++ did not finish within 5 minutes: " + cmd);
            }
            if (p.exitValue() != 0) {
                throw new IllegalStateException("g++ failed to compile the kernel sources for host emulation:\n"
                        + Files.readString(log));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while compiling the host emulation", e);
        }
        Files.move(tmp, so, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    /** Everything the GPU build of an H100 compiles (the emulation provides the tensor-core helper). */
    private static List<String> sources(boolean bf16) {
        return KernelSources.forTarget(bf16, 90);
    }

    @Override
    public boolean has(String source) {
        return sources(bf16).contains(source) && !left.contains(source);
    }

    /** As a GPU whose NVRTC refused {@code source} (an optional one: KernelSources.loadAll leaves it out). */
    public HostEmulation without(String source) {
        left.add(source);
        return this;
    }

    /** As an sm_90 GPU with cuBLASLt: {@link #fp8Gemm} multiplies e4m3 operands (on the host, in double). */
    public HostEmulation withFp8Gemm() {
        fp8Gemm = true;
        return this;
    }

    @Override
    public Fp8Gemm fp8Gemm() {
        return fp8Gemm ? new HostFp8Gemm() : null;
    }

    @Override
    public long function(String source, String name) {
        if (left.contains(source)) throw new IllegalArgumentException(source + " is not loaded here");
        Pointer f = lib.emu_function(name);
        if (f == null) throw new IllegalArgumentException("no kernel " + name + " in " + source);
        return Pointer.nativeValue(f);
    }

    @Override
    public void allowSharedBytes(long function, int bytes) {
        sharedOptIn.merge(function, bytes, Math::max);
    }

    @Override
    public void launch(long function, String name, int gridX, int gridY, int gridZ, int block, int sharedBytes,
            Pointer params) {
        // as the GPU: above 48 KiB of dynamic shared memory only after allowSharedBytes (cuFuncSetAttribute)
        int limit = Math.max(LaunchGeometry.DEFAULT_SHARED_LIMIT, sharedOptIn.getOrDefault(function, 0));
        if (sharedBytes > limit) {
            throw new IllegalStateException(name + " asks for " + sharedBytes + " bytes of dynamic shared memory, "
                    + "above the " + limit + " it is allowed (allowSharedBytes was not called for it)");
        }
        byte[] error = new byte[512];
        if (lib.emu_launch(new Pointer(function), gridX, gridY, gridZ, block, 1, 1, sharedBytes, params, error,
                error.length) != 0) {
            throw new IllegalStateException(name + ", grid " + gridX + "x" + gridY + "x" + gridZ + ", block " + block
                    + ": " + com.sun.jna.Native.toString(error));
        }
    }

    /** As many as the H100's, so that launch geometry (split-K, grid-stride sizes) is the GPU's. */
    @Override
    public int multiprocessors() {
        return 132;
    }

    @Override
    public Gemm gemm() {
        return new Gemm() {
            @Override
            public void linear(long x, long w, long y, int rows, int in, int out) {
                lib.emu_linear(x, w, y, rows, in, out);
            }

            @Override
            public void scores(long q, long k, long scores, int tokens, int headDim, int heads) {
                lib.emu_scores(q, k, scores, tokens, headDim, heads);
            }

            @Override
            public void weightedValues(long probs, long v, long out, int tokens, int headDim, int heads,
                    int outStride) {
                lib.emu_weighted_values(probs, v, out, tokens, headDim, heads, outStride);
            }

            @Override
            public void close() {}
        };
    }

    @Override
    public void close() {}
}
