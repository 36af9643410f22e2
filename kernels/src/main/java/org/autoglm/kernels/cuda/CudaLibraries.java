package org.autoglm.kernels.cuda;

import com.sun.jna.NativeLibrary;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Finds the host's CUDA shared libraries (driver, NVRTC, cuBLAS) by name, CUDA 12 or 13 alike: the plain
 * name through the dynamic loader first, then versioned sonames ({@code libnvrtc.so.13}, {@code libnvrtc.so.12.8.93})
 * in the usual places: {@code $AUTOGLM_CUDA_LIB_DIRS}, {@code $CUDA_HOME/lib64}, {@code /usr/local/cuda*}/lib64,
 * the driver's folders, and the {@code nvidia/*}/lib folders of Python wheels.
 */
public final class CudaLibraries {

    /** Extra folders to search, separated by ':' (searched first). */
    public static final String DIRS_ENV = "AUTOGLM_CUDA_LIB_DIRS";

    private CudaLibraries() {}

    /**
     * Loads {@code lib<name>.so} (e.g. {@code "cuda"}, {@code "nvrtc"}, {@code "cublas"}). Libraries it depends on
     * by soname ({@code companions}, e.g. {@code "cublasLt"}) are loaded first from the same folder, so that the
     * dynamic loader finds them even when that folder is not on its path.
     */
    public static NativeLibrary load(String name, String... companions) {
        List<String> tried = new ArrayList<>();
        for (Path dir : searchDirs()) {
            for (Path file : candidates(dir, name)) {
                try {
                    for (String companion : companions) {
                        for (Path c : candidates(dir, companion)) {
                            try {
                                NativeLibrary.getInstance(c.toString());
                                break;
                            } catch (UnsatisfiedLinkError ignored) {
                                // the library may still load and find its companion elsewhere
                            }
                        }
                    }
                    return NativeLibrary.getInstance(file.toString());
                } catch (UnsatisfiedLinkError e) {
                    tried.add(file + " (" + e.getMessage() + ")");
                }
            }
        }
        try {
            return NativeLibrary.getInstance(name);   // the dynamic loader's own search (LD_LIBRARY_PATH, ldconfig)
        } catch (UnsatisfiedLinkError e) {
            tried.add("lib" + name + ".so through the dynamic loader");
        }
        String install = name.equals("cuda") ? "Install the NVIDIA driver (CUDA 12 or newer)"
                : "Install the CUDA 12 or 13 toolkit (or the nvidia-* Python wheels that carry it)";
        throw new CudaException("cannot load lib" + name + ".so (CUDA 12 or 13). Tried: " + String.join("; ", tried)
                + ". " + install + ", or name the folder that holds it in " + DIRS_ENV);
    }

    /** Folders to search, most specific first; only those that exist. */
    static List<Path> searchDirs() {
        Set<Path> dirs = new LinkedHashSet<>();
        String extra = System.getenv(DIRS_ENV);
        if (extra != null) {
            for (String d : extra.split(":")) {
                if (!d.isBlank()) dirs.add(Path.of(d));
            }
        }
        for (String env : List.of("CUDA_HOME", "CUDA_PATH")) {
            String home = System.getenv(env);
            if (home != null) {
                dirs.add(Path.of(home, "lib64"));
                dirs.add(Path.of(home, "lib"));
            }
        }
        dirs.add(Path.of("/usr/local/cuda/lib64"));
        dirs.add(Path.of("/usr/local/cuda/targets/x86_64-linux/lib"));
        dirs.addAll(newestFirst(Path.of("/usr/local"), "cuda-*", "lib64"));
        dirs.add(Path.of("/usr/local/nvidia/lib64"));
        dirs.add(Path.of("/usr/lib/x86_64-linux-gnu"));
        dirs.add(Path.of("/usr/lib64"));
        dirs.add(Path.of("/usr/lib/wsl/lib"));
        for (Path sitePackages : pythonSitePackages()) {
            dirs.addAll(newestFirst(sitePackages.resolve("nvidia"), "*", "lib"));
        }
        // never the toolkit's link-time stubs: a stub libcuda cannot run anything
        return dirs.stream().filter(Files::isDirectory).filter(d -> !d.endsWith("stubs")).toList();
    }

    /** {@code lib<name>.so}, then {@code lib<name>.so.<major>[.x.y]} with the newest version first. */
    static List<Path> candidates(Path dir, String name) {
        List<Path> out = new ArrayList<>();
        Path plain = dir.resolve("lib" + name + ".so");
        if (Files.exists(plain)) out.add(plain);
        Pattern versioned = Pattern.compile(Pattern.quote("lib" + name + ".so.") + "[0-9][0-9.]*");
        try (Stream<Path> files = Files.list(dir)) {
            files.filter(p -> versioned.matcher(p.getFileName().toString()).matches())
                    .sorted(Comparator.comparing((Path p) -> versionKey(p.getFileName().toString())).reversed())
                    .forEach(out::add);
        } catch (IOException e) {
            // unreadable folder: nothing here
        }
        return out;
    }

    /** Zero-padded version digits so that 13.0 sorts after 12.8 and 12.10 after 12.9. */
    static String versionKey(String fileName) {
        String v = fileName.substring(fileName.indexOf(".so.") + 4);
        StringBuilder key = new StringBuilder();
        for (String part : v.split("\\.")) {
            key.append(String.format("%06d", part.isEmpty() ? 0 : Long.parseLong(part)));
        }
        return key.toString();
    }

    private static List<Path> newestFirst(Path parent, String glob, String child) {
        List<Path> found = new ArrayList<>();
        if (!Files.isDirectory(parent)) return found;
        try (DirectoryStream<Path> s = Files.newDirectoryStream(parent, glob)) {
            s.forEach(p -> found.add(p.resolve(child)));
        } catch (IOException e) {
            return found;
        }
        found.sort(Comparator.comparing(Path::toString).reversed());
        return found;
    }

    private static List<Path> pythonSitePackages() {
        List<Path> out = new ArrayList<>();
        for (Path root : List.of(Path.of("/usr/local/lib"), Path.of("/usr/lib"), Path.of("/opt/torch/.venv/lib"))) {
            if (!Files.isDirectory(root)) continue;
            for (Path py : newestFirst(root, "python3*", "site-packages")) out.add(py);
            for (Path py : newestFirst(root, "python3*", "dist-packages")) out.add(py);
        }
        String venv = System.getenv("VIRTUAL_ENV");
        if (venv != null) out.addAll(newestFirst(Path.of(venv, "lib"), "python3*", "site-packages"));
        return out;
    }
}
