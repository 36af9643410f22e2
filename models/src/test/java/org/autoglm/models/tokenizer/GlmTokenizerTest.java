package org.autoglm.models.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import org.autoglm.models.ModelLoadException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class GlmTokenizerTest {

    @ParameterizedTest
    @ValueSource(strings = {"glm-tiny", "glm4-tiny"})
    void encodesEveryReferenceCaseToTheReferenceIds(String checkpoint) {
        try (GlmTokenizer tokenizer = GlmTokenizer.load(ReferenceFixtures.checkpoint(checkpoint))) {
            for (JsonNode c : ReferenceFixtures.cases(checkpoint)) {
                String text = c.get("text").asText();
                assertThat(tokenizer.encode(text)).as(text).containsExactly(ReferenceFixtures.ints(c.get("input_ids")));
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"glm-tiny", "glm4-tiny"})
    void decodesPromptsAndGreedyOutputsLikeTransformers(String checkpoint) {
        try (GlmTokenizer tokenizer = GlmTokenizer.load(ReferenceFixtures.checkpoint(checkpoint))) {
            for (JsonNode c : ReferenceFixtures.cases(checkpoint)) {
                int[] prompt = ReferenceFixtures.ints(c.get("input_ids"));
                assertThat(tokenizer.decode(prompt, false)).isEqualTo(c.get("text").asText());
                // greedy_text is transformers' decode of the random model's output, special tokens kept.
                int[] greedy = ReferenceFixtures.ints(c.get("greedy_ids"));
                assertThat(tokenizer.decode(greedy, false)).isEqualTo(c.get("greedy_text").asText());
            }
        }
    }

    @Test
    void longInputsAreNeitherTruncatedNorPadded() {
        try (GlmTokenizer tokenizer = GlmTokenizer.load(ReferenceFixtures.checkpoint("glm4-tiny"))) {
            String text = "The quick brown fox jumps over the lazy dog. ".repeat(200);
            int[] ids = tokenizer.encode(text);
            assertThat(ids.length).isGreaterThan(2000);
            assertThat(tokenizer.decode(ids, true)).isEqualTo(text);
            assertThat(tokenizer.encode("x")).containsExactly(87);
        }
    }

    @Test
    void specialTokensComeFromTheTokenizerAndEosFromTheConfigs() {
        try (GlmTokenizer tokenizer = GlmTokenizer.load(ReferenceFixtures.checkpoint("glm4-tiny"))) {
            assertThat(tokenizer.vocabSize()).isEqualTo(610);
            assertThat(tokenizer.tokenId("[gMASK]")).hasValue(602);
            assertThat(tokenizer.tokenId("<|assistant|>")).hasValue(608);
            assertThat(tokenizer.tokenId("no such token")).isEmpty();
            assertThat(tokenizer.isSpecial(602)).isTrue();
            assertThat(tokenizer.isSpecial(87)).isFalse();
            assertThat(tokenizer.isSpecial(-1)).isFalse();
            assertThat(tokenizer.eosTokenIds()).containsExactly(600, 607, 609);
            assertThat(tokenizer.decode(new int[] {602, 604, 87}, true)).isEqualTo("x");
            assertThat(tokenizer.decode(new int[] {602, 604, 87}, false)).isEqualTo("[gMASK]<sop>x");
        }
    }

    @Test
    void idsOutsideTheVocabularyDecodeToNothingAsInTransformers() {
        // a model's vocab_size may exceed the tokenizer's (GLM-4 pads 151,339 tokens to 151,552 rows)
        try (GlmTokenizer tokenizer = GlmTokenizer.load(ReferenceFixtures.checkpoint("glm4-tiny"))) {
            assertThat(tokenizer.decode(new int[] {87, 610, -1, 151_551, 87}, true)).isEqualTo("xx");
            StreamingDetokenizer detokenizer = tokenizer.newDetokenizer();
            assertThat(detokenizer.push(87) + detokenizer.push(610) + detokenizer.push(87) + detokenizer.flush())
                    .isEqualTo("xx");
        }
    }

    @Test
    void missingTokenizerNamesThePath(@TempDir Path dir) {
        assertThatThrownBy(() -> GlmTokenizer.load(dir))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining(dir.resolve("tokenizer.json").toString());
    }

    @Test
    void malformedTokenizerNamesThePath(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": {\"vocab\": {\"a\": 0}, ");
        assertThatThrownBy(() -> GlmTokenizer.load(dir))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining(dir.resolve("tokenizer.json").toString());
    }

    @Test
    void jsonThatIsNoTokenizerIsRejectedByName(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": {\"vocab\": {\"a\": 0}}}");
        assertThatThrownBy(() -> GlmTokenizer.load(dir))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining(dir.resolve("tokenizer.json").toString());
    }
}
