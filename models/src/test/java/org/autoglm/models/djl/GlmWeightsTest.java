package org.autoglm.models.djl;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.autoglm.models.config.GlmConfig;
import org.autoglm.models.config.GlmConfigReader;
import org.autoglm.models.weights.Checkpoint;
import org.autoglm.models.weights.DType;
import org.autoglm.models.weights.RandomCheckpointWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every loaded weight array holds exactly the checkpoint's values, whichever path loaded it. */
class GlmWeightsTest {

    @TempDir
    Path dir;

    @Test
    void bf16WeightsWidenedInManySlicesEqualTheirValues() throws IOException {
        GlmConfig shape = GlmConfigReader.read(ReferenceFixture.load("glm4-tiny").modelDir());
        RandomCheckpointWriter.write(dir, shape, DType.BF16, 5);
        assertLoadedEqualsCheckpoint(dir, 1000); // ~4 rows per slice: every matrix takes many slices
    }

    @Test
    void fp32WeightsMappedFromTheFileEqualTheirValues() {
        assertLoadedEqualsCheckpoint(ReferenceFixture.load("glm-tiny").modelDir(), GlmWeights.SLICE_BYTES);
    }

    @Test
    void randomCheckpointsLoadAsTheConfigSays() throws IOException {
        GlmConfig tied = new GlmConfig("glm", 300, 32, 48, 1, 4, 2, 8, 0.5, 10000, 1e-5, 128, false, true,
                new int[] {1}, -1, "float32");
        RandomCheckpointWriter.write(dir, tied, DType.F32, 1);

        GlmConfig read = GlmConfigReader.read(dir);
        assertThat(read.tieWordEmbeddings()).isTrue();
        assertThat(read.attentionBias()).isFalse();
        try (Checkpoint checkpoint = Checkpoint.open(dir)) {
            assertThat(checkpoint.contains("lm_head.weight")).isFalse();
            assertThat(checkpoint.contains("model.layers.0.self_attn.q_proj.bias")).isFalse();
            float[] norm = checkpoint.readFloat32("model.norm.weight", 32);
            float[] embed = checkpoint.readFloat32("model.embed_tokens.weight", 300, 32);
            assertThat(mean(norm)).isBetween(0.95, 1.05);
            assertThat(Math.sqrt(meanSquare(embed))).isBetween(0.015, 0.025);
        }
        try (DjlBackend backend = DjlBackend.load(dir)) {
            assertThat(backend.description()).contains("glm");
        }
        assertThat(Files.readString(dir.resolve("config.json"))).contains("\"GlmForCausalLM\"");
    }

    private static void assertLoadedEqualsCheckpoint(Path modelDir, long sliceBytes) {
        GlmConfig config = GlmConfigReader.read(modelDir);
        try (Checkpoint checkpoint = Checkpoint.open(modelDir);
                NDManager manager = Engine.getEngine("PyTorch").newBaseManager()) {
            GlmWeights weights = GlmWeights.load(config, checkpoint, manager, sliceBytes);
            GlmWeights.Layer last = weights.layers.get(config.numLayers() - 1);
            String prefix = "model.layers." + (config.numLayers() - 1) + ".";
            for (var entry : List.of(
                    new Object[] {"model.embed_tokens.weight", weights.embedTokens},
                    new Object[] {"lm_head.weight", weights.lmHead},
                    new Object[] {"model.norm.weight", weights.finalNorm},
                    new Object[] {prefix + "self_attn.q_proj.weight", last.qWeight()},
                    new Object[] {prefix + "self_attn.k_proj.bias", last.kBias()},
                    new Object[] {prefix + "mlp.gate_up_proj.weight", last.gateUpWeight()},
                    new Object[] {prefix + "mlp.down_proj.weight", last.downWeight()})) {
                String name = (String) entry[0];
                NDArray array = (NDArray) entry[1];
                assertThat(array.toFloatArray()).as(name)
                        .containsExactly(checkpoint.readFloat32(name, checkpoint.info(name).shape()));
            }
        }
    }

    private static double mean(float[] values) {
        double sum = 0;
        for (float v : values) {
            sum += v;
        }
        return sum / values.length;
    }

    private static double meanSquare(float[] values) {
        double sum = 0;
        for (float v : values) {
            sum += v * v;
        }
        return sum / values.length;
    }
}
