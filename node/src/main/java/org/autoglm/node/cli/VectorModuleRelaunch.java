package org.autoglm.node.cli;

import java.io.File;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.module.ModuleFinder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Gives {@code java -jar autoglm-node.jar ...} the Vector API that the CPU backend runs on. JDK 17 ships it as the
 * incubator module {@code jdk.incubator.vector}, which only {@code --add-modules} on the command line puts in the boot
 * layer: a jar manifest cannot ({@code Add-Opens} and {@code Launcher-Agent-Class} only open or read modules already
 * there), and a module added to a child layer at run time is loaded outside the boot loader, where the JIT does not
 * compile it to vector instructions. So when the module is missing and the command may use the CPU backend, {@link #main}
 * starts the same java, with the same JVM options, jar and arguments, plus {@code --add-modules jdk.incubator.vector}
 * (and the memory options of {@link #memoryDefaults} unless the user's options set the same), and exits with its
 * status. Output goes to this process's stdout and stderr (less the JVM's incubator notice).
 *
 * <p>The two processes live and die together: a signal that stops this one (SIGTERM, Ctrl-C) stops the child the same
 * way, from a shutdown hook that waits for it; if this one is killed outright ({@code kill -9}), the child sees its
 * stdin pipe close and halts at once, as if it had been killed itself. SIGSTOP cannot be caught, so stopping this
 * process alone leaves the child running: the README says to stop the process group (as job control does).
 * {@code AUTOGLM_RELAUNCH=0} turns this off.
 */
final class VectorModuleRelaunch {

    static final String MODULE = "jdk.incubator.vector";
    /** Set in the child's environment: it is the relaunched process and watches its parent. */
    static final String CHILD_MARKER = "AUTOGLM_RELAUNCHED";
    /** Commands that never open a model. */
    private static final Set<String> NO_MODEL = Set.of("init-demo", "bench", "help", "-h", "--help", "-V", "--version");

    /**
     * The young generation the relaunched JVM gets unless the user sized it. G1 sizes it from the whole heap, which on a
     * CPU node is mostly the KV cache, and every eden region is touched once as per-step garbage passes through: 0.55
     * GB resident on the 1.5B shape for nothing (serve at q8_0: 1.19x weights + KV by default, 1.10x with this).
     */
    static final String YOUNG_GENERATION = "-XX:MaxNewSize=64m";
    /**
     * How much of its time G1 may spend collecting before it grows the heap (a fifth; its default is 1/13). While the
     * first steps run the Vector API's boxing fallbacks (before C2 has compiled the kernels), young collections come
     * every ~40 ms and G1 grew the committed heap from 0.4 to 2.3-5.5 GB, touching it as eden moved through: serve at
     * q8_0 on the 1.5B shape with 855 KV blocks, 3.75-3.82 GiB resident (1.16-1.19x weights + KV) without this,
     * 3.47-3.51 GiB (1.08-1.09x) with it (2026-12-07). Once compiled, decode allocates little, so the limit costs no
     * collections in steady state.
     */
    static final String GC_TIME_RATIO = "-XX:GCTimeRatio=4";
    /**
     * How much of the committed heap may stay free after G1's remark and full collections before it gives the rest
     * back (its defaults: 40-70 %): the heap the warm-up grew is shrunk again as soon as a concurrent cycle has run, so
     * fewer regions are touched by eden afterwards. On the 1.5B shape at q8_0 (2026-12-07, load 1-3): {@code serve}
     * 25 s after six concurrent requests, anonymous memory 2.09-2.14 GB without these, 2.03 with (RSS 1.11-1.13x
     * against 1.09x weights + KV, two runs each); {@code CpuDecode} with prefill and batch 8, 0.46-0.58 GB against
     * 0.37-0.51 (1.07-1.13x against 1.02-1.07x; three and four runs). Both or neither: the JVM refuses a minimum above the
     * maximum.
     */
    static final List<String> HEAP_FREE_RATIOS = List.of("-XX:MinHeapFreeRatio=5", "-XX:MaxHeapFreeRatio=20");

    private VectorModuleRelaunch() {}

    /**
     * The memory options the relaunched JVM gets: those of {@link #YOUNG_GENERATION}, {@link #GC_TIME_RATIO} and
     * {@link #HEAP_FREE_RATIOS} that {@code jvmOptions} do not set themselves (theirs are kept as given).
     */
    static List<String> memoryDefaults(List<String> jvmOptions) {
        List<String> added = new ArrayList<>();
        if (!sizesYoungGeneration(jvmOptions)) {
            added.add(YOUNG_GENERATION);
        }
        if (jvmOptions.stream().noneMatch(option -> option.startsWith("-XX:GCTimeRatio="))) {
            added.add(GC_TIME_RATIO);
        }
        if (jvmOptions.stream().noneMatch(option -> option.startsWith("-XX:MinHeapFreeRatio=")
                || option.startsWith("-XX:MaxHeapFreeRatio="))) {
            added.addAll(HEAP_FREE_RATIOS);
        }
        return added;
    }

    /** Whether these JVM options already size the young generation (then they are kept as given). */
    static boolean sizesYoungGeneration(List<String> jvmOptions) {
        for (String option : jvmOptions) {
            if (option.startsWith("-Xmn") || option.startsWith("-XX:MaxNewSize=") || option.startsWith("-XX:NewSize=")
                    || option.startsWith("-XX:NewRatio=") || option.startsWith("-XX:G1MaxNewSizePercent=")) {
                return true;
            }
        }
        return false;
    }

    /**
     * Relaunches with the module when needed and returns the child's exit status; returns -1 when this process should
     * run the command itself.
     */
    static int runIfNeeded(String[] args) {
        if (System.getenv(CHILD_MARKER) != null) {
            watchParent();
            return -1;
        }
        if (!needed(args)) return -1;
        List<String> command = command(args);
        if (command == null) return -1;
        try {
            ProcessBuilder builder = new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.INHERIT);
            builder.environment().put(CHILD_MARKER, "1");
            Process child = builder.start();
            Thread stderr = new Thread(() -> copyStderr(child), "autoglm-child-stderr");
            stderr.setDaemon(true);
            stderr.start();
            Thread stopChild = new Thread(() -> {
                if (child.isAlive()) {
                    child.destroy();
                    try {
                        child.waitFor();
                        stderr.join(1000);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            }, "autoglm-stop-child");
            Runtime.getRuntime().addShutdownHook(stopChild);
            int status = child.waitFor();
            stderr.join(1000);
            return status;
        } catch (IOException e) {
            System.err.println("Cannot start java with --add-modules " + MODULE + " (" + e.getMessage()
                    + "): running without the CPU backend");
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 130;
        }
    }

    /** The module is missing but installed, relaunching is allowed, and the command may open a model on the CPU. */
    static boolean needed(String[] args) {
        if (ModuleLayer.boot().findModule(MODULE).isPresent()) return false;
        if (!org.autoglm.kernels.cpu.CpuBackend.supportedJava()) return false; // the CPU backend cannot run here anyway
        if ("0".equals(System.getenv("AUTOGLM_RELAUNCH"))) return false;
        if (ModuleFinder.ofSystem().find(MODULE).isEmpty()) return false;
        if (args.length == 0 || NO_MODEL.contains(args[0])) return false;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            String value = a.startsWith("--backend=") ? a.substring("--backend=".length())
                    : a.equals("--backend") && i + 1 < args.length ? args[i + 1] : null;
            if (value != null && (value.equalsIgnoreCase("djl") || value.equalsIgnoreCase("cuda"))) return false;
            if (a.equals("-h") || a.equals("--help")) return false;
        }
        return true;
    }

    /** This JVM's own command with the module added, or null when it cannot be rebuilt (not started from a jar). */
    private static List<String> command(String[] args) {
        String java = ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        String launched = System.getProperty("sun.java.command", "");
        String classPath = System.getProperty("java.class.path", "");
        if (classPath.isEmpty() || classPath.contains(File.pathSeparator) || !launched.startsWith(classPath)
                || !classPath.endsWith(".jar")) {
            return null; // run from an IDE or with -cp: the caller chooses the JVM options
        }
        List<String> command = new ArrayList<>();
        command.add(java);
        List<String> options = ManagementFactory.getRuntimeMXBean().getInputArguments();
        for (String option : options) {
            if (!option.startsWith("-agentlib:jdwp")) {
                command.add(option); // heap size, -D properties, ... as the user gave them
            }
        }
        command.addAll(memoryDefaults(options));
        command.add("--add-modules=" + MODULE);
        command.add("-jar");
        command.add(classPath);
        command.addAll(List.of(args));
        return command;
    }

    /**
     * The child's stderr, less the JVM's one-line notice that an incubator module is in use (so a bad flag is still
     * exactly one line on stderr).
     */
    private static void copyStderr(Process child) {
        byte[] notice = ("WARNING: Using incubator modules: " + MODULE).getBytes(java.nio.charset.StandardCharsets.UTF_8);
        java.io.FileOutputStream err = new java.io.FileOutputStream(java.io.FileDescriptor.err);
        try (java.io.InputStream in = child.getErrorStream()) {
            java.io.ByteArrayOutputStream first = new java.io.ByteArrayOutputStream();
            int b;
            while ((b = in.read()) >= 0 && b != '\n') {
                first.write(b);
            }
            byte[] line = first.toByteArray();
            if (!java.util.Arrays.equals(line, notice)) {
                err.write(line);
                if (b == '\n') err.write('\n');
            }
            byte[] buffer = new byte[8192];
            for (int n; (n = in.read(buffer)) >= 0; ) {
                err.write(buffer, 0, n);
            }
        } catch (IOException e) {
            // the child is gone
        }
    }

    /** In the child: halt when the parent is gone (its end of our stdin pipe closed). */
    private static void watchParent() {
        Thread watcher = new Thread(() -> {
            try {
                while (System.in.read() >= 0) {
                    // the parent never writes; nothing to do
                }
            } catch (IOException e) {
                // a broken pipe means the same
            }
            Runtime.getRuntime().halt(137);
        }, "autoglm-parent-watch");
        watcher.setDaemon(true);
        watcher.start();
    }
}
