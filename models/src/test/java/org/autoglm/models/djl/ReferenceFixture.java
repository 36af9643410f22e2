package org.autoglm.models.djl;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.autoglm.models.tokenizer.ReferenceFixtures;

/**
 * A reference checkpoint of {@code fixtures/} and what Hugging Face transformers computed on it
 * ({@code <dir>.reference.json}), with typed cases; located by {@link ReferenceFixtures#root()}.
 */
record ReferenceFixture(Path modelDir, List<Case> cases) {

    /** One prompt: its ids and the reference outputs. */
    record Case(String kind, String text, int[] inputIds, float[] lastLogits, int[][] top5Ids,
                float[][] top5Logits, int[] greedyIds, double minTop1Margin) {
        @Override
        public String toString() {
            return kind + " '" + (text.length() > 30 ? text.substring(0, 30) + "..." : text) + "' ("
                    + inputIds.length + " tokens)";
        }
    }

    static ReferenceFixture load(String name) {
        Path dir = ReferenceFixtures.root();
        try {
            JsonNode root = new ObjectMapper().readTree(dir.resolve(name + ".reference.json").toFile());
            List<Case> cases = new ArrayList<>();
            for (JsonNode c : root.get("cases")) {
                cases.add(new Case(c.get("kind").asText(), c.get("text").asText(), ints(c.get("input_ids")),
                        floats(c.get("last_logits")), intRows(c.get("top5_ids")), floatRows(c.get("top5_logits")),
                        ints(c.get("greedy_ids")), c.get("min_top1_margin_prompt").asDouble()));
            }
            return new ReferenceFixture(dir.resolve(name), cases);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static int[] ints(JsonNode array) {
        return ReferenceFixtures.ints(array);
    }

    private static float[] floats(JsonNode array) {
        float[] out = new float[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) array.get(i).asDouble();
        }
        return out;
    }

    private static int[][] intRows(JsonNode rows) {
        int[][] out = new int[rows.size()][];
        for (int i = 0; i < out.length; i++) {
            out[i] = ints(rows.get(i));
        }
        return out;
    }

    private static float[][] floatRows(JsonNode rows) {
        float[][] out = new float[rows.size()][];
        for (int i = 0; i < out.length; i++) {
            out[i] = floats(rows.get(i));
        }
        return out;
    }
}
