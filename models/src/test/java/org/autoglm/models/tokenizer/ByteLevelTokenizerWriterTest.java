package org.autoglm.models.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.autoglm.models.chat.ChatMessage;
import org.autoglm.models.chat.ChatTemplate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ByteLevelTokenizerWriterTest {

    @Test
    void writesATokenizerThatDjlLoadsAndThatRoundTripsAnyText(@TempDir Path dir) {
        ByteLevelTokenizerWriter.Result result = ByteLevelTokenizerWriter.write(dir);
        assertThat(result.vocabSize()).isEqualTo(256 + ByteLevelTokenizerWriter.DEFAULT_MERGES + 10);
        try (GlmTokenizer tokenizer = GlmTokenizer.load(dir)) {
            assertThat(tokenizer.vocabSize()).isEqualTo(result.vocabSize());
            for (String text : List.of("The quick brown fox jumps over the lazy dog.", "def add(a, b):\n    return a + b\n",
                    "你好，请介绍一下集群控制中心。", "mixed 中文 and emoji 🙂 \u0000\t\r\n", "x", "")) {
                int[] ids = tokenizer.encode(text);
                assertThat(tokenizer.decode(ids, true)).as(text).isEqualTo(text);
            }
            // learned merges make common text shorter than its bytes
            String common = "The cluster control center schedules every request.";
            assertThat(tokenizer.encode(common).length).isLessThan(common.length() / 2);
            assertThat(tokenizer.encode("集群控制中心").length).isLessThan("集群控制中心".getBytes(java.nio.charset.StandardCharsets.UTF_8).length);
        }
    }

    @Test
    void specialTokensFollowTheRegularVocabularyAsSingleIds(@TempDir Path dir) {
        ByteLevelTokenizerWriter.Result result = ByteLevelTokenizerWriter.write(dir, 100);
        int regular = 256 + 100;
        try (GlmTokenizer tokenizer = GlmTokenizer.load(dir)) {
            for (int i = 0; i < ByteLevelTokenizerWriter.SPECIAL_TOKENS.size(); i++) {
                String token = ByteLevelTokenizerWriter.SPECIAL_TOKENS.get(i);
                assertThat(result.specialTokenIds()).containsEntry(token, regular + i);
                assertThat(tokenizer.tokenId(token)).hasValue(regular + i);
                assertThat(tokenizer.encode(token)).containsExactly(regular + i);
                assertThat(tokenizer.isSpecial(regular + i)).isTrue();
            }
            assertThat(tokenizer.isSpecial(regular - 1)).isFalse();
            assertThat(result.eosTokenIds()).containsExactly(regular, regular + 7, regular + 9);
            assertThat(result.padTokenId()).isEqualTo(regular);
            assertThat(tokenizer.eosTokenIds()).containsExactly(regular); // tokenizer_config's eos_token
        }
    }

    @Test
    void theChatTemplateRendersGlm4ChatsThatTokenizeWithSpecialIds(@TempDir Path dir) {
        ByteLevelTokenizerWriter.Result result = ByteLevelTokenizerWriter.write(dir);
        String text = ChatTemplate.load(dir).render(List.of(ChatMessage.system("Be brief."), ChatMessage.user("你好")), true);
        assertThat(text).isEqualTo("[gMASK]<sop><|system|>\nBe brief.<|user|>\n你好<|assistant|>\n");
        try (GlmTokenizer tokenizer = GlmTokenizer.load(dir)) {
            int[] ids = tokenizer.encode(text);
            assertThat(ids[0]).isEqualTo(result.specialTokenIds().get("[gMASK]"));
            assertThat(ids[1]).isEqualTo(result.specialTokenIds().get("<sop>"));
            assertThat(ids[2]).isEqualTo(result.specialTokenIds().get("<|system|>"));
            assertThat(tokenizer.decode(ids, false)).isEqualTo(text);
            assertThat(tokenizer.decode(ids, true)).isEqualTo("\nBe brief.\n你好\n");
        }
    }

    @Test
    void theSameFilesEveryTime(@TempDir Path dir) throws Exception {
        ByteLevelTokenizerWriter.write(dir.resolve("a"));
        ByteLevelTokenizerWriter.write(dir.resolve("b"));
        for (String file : List.of("tokenizer.json", "tokenizer_config.json", "chat_template.jinja")) {
            assertThat(Files.readAllBytes(dir.resolve("a").resolve(file))).isEqualTo(Files.readAllBytes(dir.resolve("b").resolve(file)));
        }
    }
}
