package org.autoglm.kernels;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.autoglm.models.config.GlmConfig;
import org.autoglm.models.config.GlmConfigReader;
import org.autoglm.models.weights.Checkpoint;
import org.autoglm.models.weights.TensorInfo;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class WeightLayoutTest {

    @ParameterizedTest
    @ValueSource(strings = {"glm-tiny", "glm4-tiny"})
    void coversEveryTensorOfTheCheckpointWithItsShape(String model) {
        GlmConfig c = GlmConfigReader.read(Fixtures.model(model));
        WeightLayout layout = WeightLayout.of(c, 2);
        try (Checkpoint ckpt = Checkpoint.open(Fixtures.model(model))) {
            List<String> names = ckpt.tensors().stream().map(TensorInfo::name).sorted().toList();
            assertThat(layout.entries()).extracting(WeightLayout.Entry::name).containsExactlyInAnyOrderElementsOf(names);
            for (WeightLayout.Entry e : layout.entries()) {
                assertThat(ckpt.info(e.name()).shape()).as(e.name()).containsExactly(e.shape());
            }
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {2, 4})
    void qkvWeightsAndBiasesAreBackToBackSoOneGemmComputesThemAll(int elementBytes) {
        GlmConfig c = GlmConfigReader.read(Fixtures.model("glm4-tiny"));
        WeightLayout l = WeightLayout.of(c, elementBytes);
        for (String kind : List.of("weight", "bias")) {
            WeightLayout.Entry q = l.get("model.layers.1.self_attn.q_proj." + kind);
            WeightLayout.Entry k = l.get("model.layers.1.self_attn.k_proj." + kind);
            WeightLayout.Entry v = l.get("model.layers.1.self_attn.v_proj." + kind);
            assertThat(q.offset() % 256).isZero();
            assertThat(k.offset()).isEqualTo(q.offset() + q.numel() * elementBytes);
            assertThat(v.offset()).isEqualTo(k.offset() + k.numel() * elementBytes);
        }
        for (WeightLayout.Entry e : l.entries()) {
            if (!e.name().contains("k_proj") && !e.name().contains("v_proj")) {
                assertThat(e.offset() % 256).as(e.name()).isZero();
            }
        }
        WeightLayout.Entry last = l.entries().get(l.entries().size() - 1);
        assertThat(l.bytes()).isEqualTo(last.offset() + last.numel() * elementBytes);
    }

    @ParameterizedTest
    @ValueSource(strings = {"glm-tiny"})
    void tiedModelsHaveNoLmHead(String model) {
        GlmConfig c = GlmConfigReader.read(Fixtures.model(model));
        GlmConfig tied = new GlmConfig(c.modelType(), c.vocabSize(), c.hiddenSize(), c.intermediateSize(),
                c.numLayers(), c.numHeads(), c.numKvHeads(), c.headDim(), c.partialRotaryFactor(), c.ropeTheta(),
                c.rmsNormEps(), c.maxPositionEmbeddings(), c.attentionBias(), true, c.eosTokenIds(), c.padTokenId(),
                c.torchDtype());
        assertThat(WeightLayout.of(tied, 2).get("lm_head.weight")).isNull();
        assertThat(WeightLayout.of(c, 2).get("lm_head.weight")).isNotNull();
        assertThat(WeightLayout.of(c, 2).get("model.layers.0.post_mlp_layernorm.weight")).isNull();
    }
}
