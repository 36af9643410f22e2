package org.autoglm.models.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class StreamingDetokenizerTest {

    private static GlmTokenizer tokenizer;

    @BeforeAll
    static void load() {
        tokenizer = GlmTokenizer.load(ReferenceFixtures.checkpoint("glm4-tiny"));
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    @Test
    void chineseStreamsWithoutBrokenCharacters() {
        JsonNode chinese = ReferenceFixtures.cases("glm4-tiny").stream()
                .filter(c -> c.get("text").asText().startsWith("你好")).findFirst().orElseThrow();
        int[] ids = ReferenceFixtures.ints(chinese.get("input_ids"));
        List<String> chunks = stream(ids, true);

        assertThat(String.join("", chunks)).isEqualTo("你好，请介绍一下集群控制中心。");
        assertThat(chunks).noneMatch(chunk -> chunk.contains("\uFFFD"));
        // The ids split characters across tokens, so some pushes must have held text back.
        assertThat(chunks).contains("");
    }

    @Test
    void everyReferenceSequenceStreamsToItsFullDecode() {
        for (String checkpoint : ReferenceFixtures.CHECKPOINTS) {
            for (JsonNode c : ReferenceFixtures.cases(checkpoint)) {
                for (String field : List.of("input_ids", "greedy_ids")) {
                    int[] ids = ReferenceFixtures.ints(c.get(field));
                    for (boolean skip : new boolean[] {true, false}) {
                        assertStreamsLikeFullDecode(ids, skip);
                    }
                }
            }
        }
    }

    @Test
    void longRandomByteSequencesStreamExactlyThroughManyWindowSlides() {
        // Random ids from the 256 single-byte tokens and merges: lots of invalid UTF-8 and partial characters.
        SplittableRandom random = new SplittableRandom(7);
        for (int round = 0; round < 20; round++) {
            int[] ids = random.ints(300, 0, 600).toArray();
            assertStreamsLikeFullDecode(ids, true);
        }
        // Long Chinese text: many slides, nothing ever broken.
        String text = "集群控制中心负责调度请求，节点之间通过网格通信。".repeat(40);
        int[] ids = tokenizer.encode(text);
        List<String> chunks = stream(ids, true);
        assertThat(String.join("", chunks)).isEqualTo(text);
        assertThat(chunks).noneMatch(chunk -> chunk.contains("\uFFFD"));
    }

    @Test
    void specialTokensAreSkippedOrKept() {
        int[] ids = tokenizer.encode("<|assistant|>\nhi<|user|>");
        assertThat(String.join("", stream(ids, true))).isEqualTo("\nhi");
        assertThat(String.join("", stream(ids, false))).isEqualTo("<|assistant|>\nhi<|user|>");
    }

    private static void assertStreamsLikeFullDecode(int[] ids, boolean skip) {
        List<String> chunks = stream(ids, skip);
        String full = tokenizer.decode(ids, skip);
        assertThat(String.join("", chunks)).isEqualTo(full);
        // A chunk may hold U+FFFD only where the full text has one at that offset.
        int offset = 0;
        for (String chunk : chunks) {
            for (int i = 0; i < chunk.length(); i++) {
                if (chunk.charAt(i) == '\uFFFD') {
                    assertThat(full.charAt(offset + i)).isEqualTo('\uFFFD');
                }
            }
            offset += chunk.length();
        }
    }

    /** Pushes ids one by one; the last element is the flush. */
    private static List<String> stream(int[] ids, boolean skip) {
        StreamingDetokenizer detokenizer = new StreamingDetokenizer(tokenizer, skip);
        List<String> chunks = new ArrayList<>();
        for (int id : ids) {
            chunks.add(detokenizer.push(id));
        }
        chunks.add(detokenizer.flush());
        assertThat(detokenizer.tokenCount()).isEqualTo(ids.length);
        return chunks;
    }
}
