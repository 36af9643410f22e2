package org.autoglm.kernels.cpu;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The matrix kernels alone, one thread, on the glm-edge-1.5b shapes (a 2048-wide input against 12288 rows, the fused
 * gate/up projection; a 6144-wide one against 2048 rows, the down projection), cycling through copies of the weights
 * that add up to well past the last-level cache: GFLOP/s per second of the thread's CPU time (what a loaded machine
 * distorts least) of the kernel {@link MatrixKernels} picks and of each other
 * kernel that takes the same call, repetitions alternating between them, medians, and their ratio, so that a kernel
 * change is judged by a ratio measured in one run on a loaded machine. Also the bytes the last pass allocated (a Vector
 * API call left out of line, or code not yet compiled by C2, boxes its vectors), and each other kernel's largest
 * difference from the default's sums. Not a test: a tool, run by hand.
 *
 * <pre>
 * java --add-modules=jdk.incubator.vector -cp kernels/target/classes:kernels/target/test-classes:models/target/classes \
 *     org.autoglm.kernels.cpu.KernelSpeed [TYPES=BF16,Q8_0,Q4_0] [TOKENS=1,8,128] [REPS=9]
 * </pre>
 */
final class KernelSpeed {

    /** Bytes of weights a run cycles through. */
    private static final long STREAMED = 512L << 20;
    private static final com.sun.management.ThreadMXBean ALLOCATIONS =
            (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();

    /** One way to multiply rows {@code [0, rows)} of a single-slab matrix. */
    private interface Kernel {
        void run(WeightMatrix m, int rows, float[] xp, QuantizedActivations xq, int tokens, float[] out, Scratch s);
    }

    private KernelSpeed() {}

    public static void main(String[] args) {
        String[] types = (args.length > 0 ? args[0] : "BF16,Q8_0,Q4_0").split(",");
        String[] tokenCounts = (args.length > 1 ? args[1] : "1,8,128").split(",");
        int reps = args.length > 2 ? Integer.parseInt(args[2]) : 9;
        SplittableRandom random = new SplittableRandom(5);
        for (String typeName : types) {
            WeightType type = WeightType.valueOf(typeName);
            for (int[] shape : new int[][] {{12288, 2048}, {2048, 6144}}) {
                int rows = shape[0];
                int cols = shape[1];
                WeightMatrix[] copies = copies(MatrixKernelsTest.matrix(type, rows, cols, random));
                for (String tc : tokenCounts) {
                    int tokens = Integer.parseInt(tc);
                    float[] x = new float[tokens * cols];
                    for (int i = 0; i < x.length; i++) x[i] = (float) random.nextGaussian();
                    // the layout the default kernel reads, and permuted rows for the others
                    float[] prepared = new float[MatrixKernels.activationsLength(tokens, cols)];
                    QuantizedActivations xq = MatrixKernels.prepare(type, x, tokens, cols, prepared,
                            new QuantizedActivations());
                    float[] xp = new float[x.length];
                    for (int t = 0; t < tokens; t++) VectorKernels.permute(type, x, t * cols, cols, xp, t * cols, 1);
                    List<String> names = new ArrayList<>(List.of("default"));
                    List<Kernel> kernels = new ArrayList<>(List.of((m, r, p, q, n, out, s) ->
                            MatrixKernels.multiply(m, 0, r, prepared, q, n, out, r, 0, s)));
                    if (tokens >= 2 && tokens <= PairGemm.TOKENS && PairGemm.supports(type)) {
                        names.add("pair");
                        kernels.add((m, r, p, q, n, out, s) ->
                                PairGemm.multiply(m.type, m.slabs[0], 0, r, m.cols, p, n, out, 0, r, s));
                    }
                    if (tokens >= 2) {
                        names.add("tile");
                        kernels.add((m, r, p, q, n, out, s) ->
                                TileGemm.multiply(m.type, m.slabs[0], 0, r, m.cols, p, n, out, 0, r, s));
                    }
                    // rows per pass: a pass of the whole matrix at 1 token is a few ms, at 128 a second or more
                    int passRows = tokens >= 64 ? Math.min(rows, 1024) : rows;
                    float[] out = new float[tokens * passRows];
                    Scratch scratch = new Scratch();
                    List<List<Double>> times = new ArrayList<>();
                    long[] allocated = new long[kernels.size()];
                    for (int k = 0; k < kernels.size(); k++) times.add(new ArrayList<>());
                    for (int rep = -3; rep < reps; rep++) {
                        for (int k = 0; k < kernels.size(); k++) {
                            WeightMatrix m = copies[Math.floorMod(rep * kernels.size() + k, copies.length)];
                            long a0 = ALLOCATIONS.getCurrentThreadAllocatedBytes();
                            long t0 = ALLOCATIONS.getCurrentThreadCpuTime();
                            kernels.get(k).run(m, passRows, xp, xq, tokens, out, scratch);
                            double s = (ALLOCATIONS.getCurrentThreadCpuTime() - t0) / 1e9;
                            if (rep >= 0) {
                                times.get(k).add(s);
                                allocated[k] = ALLOCATIONS.getCurrentThreadAllocatedBytes() - a0; // the last
                            }
                        }
                    }
                    float[] expected = new float[out.length];
                    kernels.get(0).run(copies[0], passRows, xp, xq, tokens, expected, scratch);
                    for (int k = 1; k < kernels.size(); k++) {
                        java.util.Arrays.fill(out, Float.NaN);
                        kernels.get(k).run(copies[0], passRows, xp, xq, tokens, out, scratch);
                        double worst = 0;
                        for (int i = 0; i < out.length; i++) worst = Math.max(worst, Math.abs(out[i] - expected[i]));
                        System.out.printf(Locale.ROOT, "  %s: largest difference from default %.3g%n", names.get(k), worst);
                    }
                    double first = 0;
                    for (int k = 0; k < kernels.size(); k++) {
                        List<Double> t = times.get(k);
                        t.sort(null);
                        double median = t.get(t.size() / 2);
                        if (k == 0) first = median;
                        double gflops = 2.0 * passRows * cols * tokens / median / 1e9;
                        System.out.printf(Locale.ROOT, "%-5s %5d x %4d tokens %3d %-7s: %7.2f GFLOP/s, %6.2f ms CPU,"
                                        + " x%.2f of default (medians of %d), %d B allocated in the last pass%n", type, passRows,
                                cols, tokens, names.get(k), gflops, median * 1e3, first / median, reps,
                                allocated[k]);
                    }
                }
            }
        }
    }

    /** Copies of {@code m} adding up to {@link #STREAMED} bytes, so that successive passes read from memory. */
    private static WeightMatrix[] copies(WeightMatrix m) {
        int n = (int) Math.max(3, STREAMED / m.bytes());
        WeightMatrix[] copies = new WeightMatrix[n];
        for (int i = 0; i < n; i++) {
            WeightMatrix.Slab s = m.slabs[0];
            copies[i] = new WeightMatrix(m.type, m.rows, m.cols, m.rowsPerSlab, new WeightMatrix.Slab[] {
                    new WeightMatrix.Slab(copy(s.data()), s.scales() == null ? null : copy(s.scales()))});
        }
        return copies;
    }

    private static ByteBuffer copy(ByteBuffer b) {
        ByteBuffer c = ByteBuffer.allocateDirect(b.capacity());
        c.put(b.duplicate().clear());
        return c.clear();
    }
}
