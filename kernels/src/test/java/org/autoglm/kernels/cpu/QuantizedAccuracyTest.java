package org.autoglm.kernels.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.autoglm.kernels.Fixtures;
import org.autoglm.models.backend.SequenceChunk;
import org.autoglm.models.config.GlmConfig;
import org.autoglm.models.config.GlmConfigReader;
import org.autoglm.models.weights.Checkpoint;
import org.autoglm.models.weights.DType;
import org.autoglm.models.weights.SafetensorsWriter;
import org.autoglm.models.weights.TensorInfo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * How far bf16 weights and q8_0 / q4_0 quantization move the CPU backend from its own f32 result: along each prompt's
 * f32 greedy continuation (teacher-forced, 24 steps), the largest and RMS logit difference and the share of steps whose
 * argmax is the f32 token. Over both fixtures and a larger random GLM-4 (hidden 512, 4 layers, vocab 2048). Prints one
 * line per model and type (the README's table). Asserts bf16 and q8_0 agree on >= 95 % of the fixtures' steps (the
 * issue's goal for q8_0) and >= 85 % on the random model, whose top logits lie closer together (measured: 91.7 %),
 * q4_0 on >= 35 %, and that q4_0 drifts more than q8_0.
 */
class QuantizedAccuracyTest {

    static final int STEPS = 24;

    @TempDir
    Path temp;

    record Result(String model, String type, double maxDiff, double rms, int agree, int steps) {
        double agreement() {
            return (double) agree / steps;
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "| %s | %s | %.4f | %.4f | %d/%d = %.1f %% |", model, type, maxDiff, rms,
                    agree, steps, 100 * agreement());
        }
    }

    @Test
    void quantizedTypesStayCloseToF32() throws IOException {
        List<Result> all = new ArrayList<>();
        Path random = temp.resolve("glm4-random-512");
        writeRandomModel(random);
        for (Path model : List.of(Fixtures.model("glm-tiny"), Fixtures.model("glm4-tiny"), random)) {
            List<int[]> prompts = prompts(model);
            Path bf16 = temp.resolve(model.getFileName() + "-bf16");
            convert(model, bf16, DType.BF16);
            List<float[][]> reference = new ArrayList<>();
            List<int[]> paths = new ArrayList<>();
            try (CpuBackend f32 = open(model, null)) {
                for (int[] prompt : prompts) {
                    int[] path = new int[STEPS];
                    reference.add(teacherForced(f32, prompt, path, true));
                    paths.add(path);
                }
            }
            String name = model.getFileName().toString();
            all.add(compare(name, "bf16", open(bf16, null), prompts, paths, reference));
            all.add(compare(name, "q8_0", open(model, WeightType.Q8_0), prompts, paths, reference));
            all.add(compare(name, "q4_0", open(model, WeightType.Q4_0), prompts, paths, reference));
        }
        System.out.println("| model | weights | max abs logit diff vs f32 | RMS diff | greedy agreement |");
        all.forEach(System.out::println);
        for (Result r : all) {
            double floor = r.type().equals("q4_0") ? 0.35 : r.model().endsWith("-tiny") ? 0.95 : 0.85;
            assertThat(r.agreement()).as(r.toString()).isGreaterThanOrEqualTo(floor);
        }
        for (int i = 0; i < all.size(); i += 3) {
            assertThat(all.get(i).rms()).isLessThan(all.get(i + 1).rms() * 2); // bf16 not far worse than q8_0
            assertThat(all.get(i + 1).rms()).isLessThan(all.get(i + 2).rms());  // q8_0 better than q4_0
        }
    }

    private CpuBackend open(Path model, WeightType quantize) {
        CpuBackend b = CpuBackend.load(model, CpuOptions.defaults().withThreads(2).withQuantize(quantize)
                .withCacheDir(temp.resolve("cache")));
        b.allocateKvCache(64, 16);
        return b;
    }

    private static Result compare(String model, String type, CpuBackend backend, List<int[]> prompts,
                                  List<int[]> paths, List<float[][]> reference) {
        double max = 0;
        double squares = 0;
        long count = 0;
        int agree = 0;
        int steps = 0;
        try (backend) {
            for (int i = 0; i < prompts.size(); i++) {
                int[] path = paths.get(i).clone();
                float[][] logits = teacherForced(backend, prompts.get(i), path, false);
                for (int s = 0; s < STEPS; s++) {
                    float[] ref = reference.get(i)[s];
                    for (int j = 0; j < ref.length; j++) {
                        double diff = Math.abs(logits[s][j] - ref[j]);
                        max = Math.max(max, diff);
                        squares += diff * diff;
                        count++;
                    }
                    agree += CpuParityTest.argmax(logits[s]) == CpuParityTest.argmax(ref) ? 1 : 0;
                    steps++;
                }
            }
        }
        return new Result(model, type, max, Math.sqrt(squares / count), agree, steps);
    }

    /**
     * The logits of {@code STEPS} steps after {@code prompt}, feeding {@code path}'s tokens; when {@code greedy}, the
     * path is filled with this backend's own argmax as it goes.
     */
    private static float[][] teacherForced(CpuBackend b, int[] prompt, int[] path, boolean greedy) {
        int[] table = {0, 1, 2, 3, 4, 5, 6, 7};
        float[][] out = new float[STEPS][];
        out[0] = b.forward(List.of(new SequenceChunk(1, prompt, 0, table, true)))[0];
        for (int s = 0; s < STEPS; s++) {
            if (greedy) path[s] = CpuParityTest.argmax(out[s]);
            if (s + 1 < STEPS) {
                out[s + 1] = b.forward(List.of(new SequenceChunk(1, new int[] {path[s]}, prompt.length + s, table,
                        true)))[0];
            }
        }
        return out;
    }

    private static List<int[]> prompts(Path model) {
        if (model.getFileName().toString().endsWith("-tiny")) {
            return CpuParityTest.load(model.getFileName().toString()).stream().map(CpuParityTest.Case::ids).toList();
        }
        SplittableRandom random = new SplittableRandom(11);
        List<int[]> prompts = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            prompts.add(random.ints(8 + 6 * i, 0, 2048).toArray());
        }
        return prompts;
    }

    /** The checkpoint with every tensor stored as {@code dtype}. */
    static void convert(Path from, Path to, DType dtype) throws IOException {
        Files.createDirectories(to);
        Files.copy(from.resolve("config.json"), to.resolve("config.json"));
        SafetensorsWriter writer = new SafetensorsWriter();
        try (Checkpoint c = Checkpoint.open(from)) {
            for (TensorInfo t : c.tensors()) {
                writer.add(t.name(), dtype, t.shape(), c.readFloat32(t.name(), t.shape()));
            }
            writer.writeFile(to.resolve(Checkpoint.SINGLE_FILE));
        }
    }

    /**
     * A GLM-4 of hidden 512 whose weights are drawn like the fixtures' (scaled to the width), so that its logits are
     * spread out as a trained model's are rather than nearly equal.
     */
    static void writeRandomModel(Path dir) throws IOException {
        GlmConfig tiny = GlmConfigReader.read(Fixtures.model("glm4-tiny"));
        GlmConfig c = new GlmConfig("glm4", 2048, 512, 1408, 4, 8, 2, 64, 0.5, 10000.0, 1e-5, 1024, true, false,
                tiny.eosTokenIds(), tiny.padTokenId(), "float32");
        org.autoglm.models.weights.RandomCheckpointWriter.write(dir, c, DType.F32, 5);
        // rescale: RandomCheckpointWriter draws N(0, 0.02); the fixtures' N(0, 0.15) at width 64 is N(0, 0.053) here
        Path file = dir.resolve(Checkpoint.SINGLE_FILE);
        Path scaled = dir.resolve("scaled.safetensors");
        SafetensorsWriter writer = new SafetensorsWriter();
        try (Checkpoint ckpt = Checkpoint.open(dir)) {
            for (TensorInfo t : ckpt.tensors()) {
                float[] v = ckpt.readFloat32(t.name(), t.shape());
                if (t.shape().length == 2) {
                    for (int i = 0; i < v.length; i++) v[i] *= 0.053f / 0.02f;
                }
                writer.add(t.name(), DType.F32, t.shape(), v);
            }
            writer.writeFile(scaled);
        }
        Files.move(scaled, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }
}
