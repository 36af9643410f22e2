package org.autoglm.models.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.autoglm.models.ModelLoadException;
import org.autoglm.models.tokenizer.ReferenceFixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GlmConfigReaderTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    static Path fixture(String name) {
        return ReferenceFixtures.checkpoint(name);
    }

    @Test
    void readsTheGlmFixture() {
        GlmConfig c = GlmConfigReader.read(fixture("glm-tiny"));

        assertThat(c.modelType()).isEqualTo("glm");
        assertThat(c.hasPostNorms()).isFalse();
        assertThat(c.vocabSize()).isEqualTo(610);
        assertThat(c.hiddenSize()).isEqualTo(64);
        assertThat(c.intermediateSize()).isEqualTo(128);
        assertThat(c.numLayers()).isEqualTo(2);
        assertThat(c.numHeads()).isEqualTo(4);
        assertThat(c.numKvHeads()).isEqualTo(2);
        assertThat(c.headDim()).isEqualTo(16);
        assertThat(c.rotaryDim()).isEqualTo(8);
        assertThat(c.ropeTheta()).isEqualTo(10000.0);
        assertThat(c.rmsNormEps()).isEqualTo(1e-5);
        assertThat(c.maxPositionEmbeddings()).isEqualTo(512);
        assertThat(c.attentionBias()).isTrue();
        assertThat(c.tieWordEmbeddings()).isFalse();
        assertThat(c.eosTokenIds()).containsExactly(600, 607, 609);
        assertThat(c.padTokenId()).isEqualTo(600);
        assertThat(c.torchDtype()).isEqualTo("float32");
    }

    @Test
    void readsTheGlm4Fixture() {
        GlmConfig c = GlmConfigReader.read(fixture("glm4-tiny"));

        assertThat(c.modelType()).isEqualTo("glm4");
        assertThat(c.hasPostNorms()).isTrue();
    }

    @Test
    void acceptsTheLegacyLayout() throws IOException {
        ObjectNode config = base();
        config.remove("rope_parameters");
        config.remove("head_dim");
        config.remove("dtype");
        config.put("torch_dtype", "bfloat16");
        config.put("rope_theta", 500.0);
        config.put("partial_rotary_factor", 0.25);
        config.put("eos_token_id", 7);
        config.put("tie_word_embeddings", true);
        config.put("attention_bias", false);

        GlmConfig c = read(config);

        assertThat(c.headDim()).isEqualTo(64 / 4);
        assertThat(c.ropeTheta()).isEqualTo(500.0);
        assertThat(c.rotaryDim()).isEqualTo(4);
        assertThat(c.eosTokenIds()).containsExactly(7);
        assertThat(c.torchDtype()).isEqualTo("bfloat16");
        assertThat(c.tieWordEmbeddings()).isTrue();
        assertThat(c.attentionBias()).isFalse();
    }

    @Test
    void ropeParametersWinOverTopLevelValues() throws IOException {
        ObjectNode config = base();
        config.put("rope_theta", 1.0);
        ((ObjectNode) config.get("rope_parameters")).put("rope_theta", 20000.0);

        assertThat(read(config).ropeTheta()).isEqualTo(20000.0);
    }

    @Test
    void unknownModelTypeNamesTheFileAndTheType() throws IOException {
        ObjectNode config = base().put("model_type", "llama");

        assertThatThrownBy(() -> read(config))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining(dir.resolve("config.json").toString())
                .hasMessageContaining("model_type 'llama' is not supported");
    }

    @Test
    void missingFieldsNameTheFileAndTheField() throws IOException {
        for (String field : new String[] {"model_type", "hidden_size", "num_key_value_heads", "vocab_size",
                "intermediate_size", "num_hidden_layers", "num_attention_heads", "rms_norm_eps", "eos_token_id"}) {
            ObjectNode config = base();
            config.remove(field);

            assertThatThrownBy(() -> read(config)).as(field)
                    .isInstanceOf(ModelLoadException.class)
                    .hasMessageContaining(dir.resolve("config.json").toString())
                    .hasMessageContaining("'" + field + "' is missing");
        }
    }

    @Test
    void badValuesAreExplained() throws IOException {
        assertThatThrownBy(() -> read(base().put("hidden_size", "wide")))
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("hidden_size must be an integer");
        assertThatThrownBy(() -> read(base().put("num_key_value_heads", 3)))
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("not a multiple of num_key_value_heads");
        assertThatThrownBy(() -> read(base().put("hidden_act", "gelu")))
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("hidden_act 'gelu'");
        ObjectNode yarn = base();
        ((ObjectNode) yarn.get("rope_parameters")).put("rope_type", "yarn");
        assertThatThrownBy(() -> read(yarn))
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("rope_type 'yarn'");
    }

    @Test
    void missingOrBrokenFileIsExplained() throws IOException {
        assertThatThrownBy(() -> GlmConfigReader.read(dir))
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("config.json not found");
        Files.writeString(dir.resolve("config.json"), "{\"model_type\": ");
        assertThatThrownBy(() -> GlmConfigReader.read(dir))
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("is not valid JSON");
    }

    private ObjectNode base() throws IOException {
        return (ObjectNode) JSON.readTree(fixture("glm-tiny").resolve("config.json").toFile());
    }

    private GlmConfig read(ObjectNode config) throws IOException {
        Files.writeString(dir.resolve("config.json"), JSON.writeValueAsString(config));
        return GlmConfigReader.read(dir);
    }
}
