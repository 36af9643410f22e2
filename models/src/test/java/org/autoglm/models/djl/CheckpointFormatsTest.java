package org.autoglm.models.djl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.autoglm.models.djl.GlmParityTest.maxAbsDifference;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.UnaryOperator;
import org.autoglm.models.ModelLoadException;
import org.autoglm.models.backend.SequenceChunk;
import org.autoglm.models.weights.Checkpoint;
import org.autoglm.models.weights.DType;
import org.autoglm.models.weights.FloatConversions;
import org.autoglm.models.weights.SafetensorsWriter;
import org.autoglm.models.weights.TensorInfo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The same model stored differently (fp32, sharded, bf16, f16, tied embeddings) gives the same tokens, and a
 * checkpoint that does not match its config fails with an error naming the tensor.
 */
class CheckpointFormatsTest {

    @TempDir
    Path tmp;

    private final ReferenceFixture fixture = ReferenceFixture.load("glm-tiny");

    @Test
    void fp32AndShardedCopiesReproduceTheReferenceExactly() throws IOException {
        Path single = copy("single", DType.F32, UnaryOperator.identity(), false);
        Path sharded = copy("sharded", DType.F32, UnaryOperator.identity(), true);
        assertThat(Files.exists(sharded.resolve(Checkpoint.INDEX_FILE))).isTrue();

        for (Path dir : List.of(single, sharded)) {
            try (DjlBackend backend = load(dir)) {
                for (ReferenceFixture.Case c : fixture.cases().subList(0, 3)) {
                    assertThat(GlmParityTest.greedy(backend, c.inputIds(), c.greedyIds().length))
                            .as(dir.getFileName() + " " + c).containsExactly(c.greedyIds());
                    assertThat(maxAbsDifference(lastLogits(backend, c.inputIds()), c.lastLogits()))
                            .isLessThan(GlmParityTest.LOGIT_TOLERANCE);
                }
            }
        }
    }

    /**
     * A bf16 (or f16) checkpoint computes what fp32 computes on the same rounded weights: widening is
     * lossless. Against the unrounded reference its logits move only by the rounding of the weights.
     */
    @Test
    void halfPrecisionCheckpointsEqualFp32OfTheRoundedWeights() throws IOException {
        UnaryOperator<Float> toBf16 = x -> FloatConversions.bf16ToFloat(FloatConversions.floatToBf16(x));
        UnaryOperator<Float> toF16 = x -> FloatConversions.f16ToFloat(FloatConversions.floatToF16(x));
        assertSameAsRoundedFp32(copy("bf16", DType.BF16, UnaryOperator.identity(), false),
                copy("bf16-as-fp32", DType.F32, toBf16, false), 0.1f);
        assertSameAsRoundedFp32(copy("f16", DType.F16, UnaryOperator.identity(), true),
                copy("f16-as-fp32", DType.F32, toF16, false), 0.05f);
    }

    private void assertSameAsRoundedFp32(Path half, Path roundedFp32, float distanceToReference) {
        try (DjlBackend halfBackend = load(half); DjlBackend fp32Backend = load(roundedFp32)) {
            for (ReferenceFixture.Case c : fixture.cases().subList(0, 3)) {
                float[] halfLogits = lastLogits(halfBackend, c.inputIds());
                // equal up to summation order (BLAS kernels may split sums differently for other alignments)
                assertThat(maxAbsDifference(halfLogits, lastLogits(fp32Backend, c.inputIds()))).isLessThan(1e-5f);
                assertThat(maxAbsDifference(halfLogits, c.lastLogits())).isLessThan(distanceToReference);
                assertThat(GlmParityTest.greedy(halfBackend, c.inputIds(), 24))
                        .containsExactly(GlmParityTest.greedy(fp32Backend, c.inputIds(), 24));
            }
        }
    }

    @Test
    void tiedEmbeddingsServeAsTheOutputLayer() throws IOException {
        // untied copy whose lm_head is the embedding matrix vs a tied copy without lm_head.weight
        Path untied = tmp.resolve("untied");
        Path tied = tmp.resolve("tied");
        try (Checkpoint source = Checkpoint.open(fixture.modelDir())) {
            SafetensorsWriter same = new SafetensorsWriter();
            SafetensorsWriter withoutHead = new SafetensorsWriter();
            for (TensorInfo info : source.tensors()) {
                String from = info.name().equals("lm_head.weight") ? "model.embed_tokens.weight" : info.name();
                float[] values = source.readFloat32(from, info.shape());
                same.add(info.name(), DType.F32, info.shape(), values);
                if (!info.name().equals("lm_head.weight")) {
                    withoutHead.add(info.name(), DType.F32, info.shape(), values);
                }
            }
            writeModel(untied, same, config -> config);
            writeModel(tied, withoutHead, config -> config.put("tie_word_embeddings", true));
        }
        int[] prompt = fixture.cases().get(0).inputIds();
        try (DjlBackend a = load(untied); DjlBackend b = load(tied)) {
            assertThat(maxAbsDifference(lastLogits(b, prompt), lastLogits(a, prompt))).isLessThan(1e-5f);
        }
    }

    @Test
    void aConfigThatDoesNotMatchTheWeightsNamesTheTensor() throws IOException {
        Path dir = copy("mismatch", DType.F32, UnaryOperator.identity(), false);
        ObjectMapper json = new ObjectMapper();
        ObjectNode config = (ObjectNode) json.readTree(dir.resolve("config.json").toFile());
        config.put("intermediate_size", 96);
        Files.writeString(dir.resolve("config.json"), json.writeValueAsString(config));

        assertThatThrownBy(() -> DjlBackend.load(dir))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("model.layers.0.mlp.gate_up_proj.weight")
                .hasMessageContaining("[256, 64], but the config needs [192, 64]");
    }

    @Test
    void aMissingTensorIsNamed() throws IOException {
        Path dir = tmp.resolve("missing");
        try (Checkpoint source = Checkpoint.open(fixture.modelDir())) {
            SafetensorsWriter writer = new SafetensorsWriter();
            for (TensorInfo info : source.tensors()) {
                if (!info.name().equals("model.layers.1.post_attention_layernorm.weight")) {
                    writer.add(info.name(), DType.F32, info.shape(), source.readFloat32(info.name(), info.shape()));
                }
            }
            writeModel(dir, writer, config -> config);
        }

        assertThatThrownBy(() -> DjlBackend.load(dir))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("tensor model.layers.1.post_attention_layernorm.weight is missing from");
    }

    /** The fixture's tensors, each value passed through {@code round}, stored as {@code dtype}. */
    private Path copy(String name, DType dtype, UnaryOperator<Float> round, boolean sharded) throws IOException {
        Path dir = tmp.resolve(name);
        try (Checkpoint source = Checkpoint.open(fixture.modelDir())) {
            SafetensorsWriter writer = new SafetensorsWriter();
            for (TensorInfo info : source.tensors()) {
                float[] values = source.readFloat32(info.name(), info.shape());
                for (int i = 0; i < values.length; i++) {
                    values[i] = round.apply(values[i]);
                }
                writer.add(info.name(), dtype, info.shape(), values);
            }
            Files.createDirectories(dir);
            Files.copy(fixture.modelDir().resolve("config.json"), dir.resolve("config.json"));
            if (sharded) {
                writer.writeSharded(dir, 100_000);
            } else {
                writer.writeFile(dir.resolve(Checkpoint.SINGLE_FILE));
            }
        }
        return dir;
    }

    private void writeModel(Path dir, SafetensorsWriter writer, UnaryOperator<ObjectNode> editConfig)
            throws IOException {
        Files.createDirectories(dir);
        ObjectMapper json = new ObjectMapper();
        ObjectNode config = (ObjectNode) json.readTree(fixture.modelDir().resolve("config.json").toFile());
        Files.writeString(dir.resolve("config.json"), json.writeValueAsString(editConfig.apply(config)));
        writer.writeFile(dir.resolve(Checkpoint.SINGLE_FILE));
    }

    private static DjlBackend load(Path dir) {
        DjlBackend backend = DjlBackend.load(dir);
        backend.allocateKvCache(GlmParityTest.NUM_BLOCKS, GlmParityTest.BLOCK_SIZE);
        return backend;
    }

    private static float[] lastLogits(DjlBackend backend, int[] prompt) {
        int[] table = new KvBlocks(GlmParityTest.NUM_BLOCKS).table(prompt.length, GlmParityTest.BLOCK_SIZE);
        return backend.forward(List.of(new SequenceChunk(1, prompt, 0, table, true)))[0];
    }
}
