package org.autoglm.node.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The prompts of a reference fixture ({@code fixtures/<name>.reference.json}) and the 24 tokens Hugging
 * Face transformers decoded greedily from each (no EOS stop).
 */
public record ReferenceCases(Path modelDir, List<Case> cases) {

    record Case(String text, int[] inputIds, int[] greedyIds) {}

    public static Path fixturesDir() {
        List<Path> candidates = new ArrayList<>();
        String property = System.getProperty("autoglm.fixtures");
        if (property != null) candidates.add(Path.of(property));
        candidates.add(Path.of("../fixtures"));
        candidates.add(Path.of("fixtures"));
        for (Path p : candidates) {
            if (Files.isDirectory(p.resolve("glm-tiny"))) return p.toAbsolutePath().normalize();
        }
        throw new IllegalStateException("reference fixtures not found in " + candidates);
    }

    static ReferenceCases load(String name) {
        Path dir = fixturesDir();
        try {
            JsonNode root = new ObjectMapper().readTree(dir.resolve(name + ".reference.json").toFile());
            List<Case> cases = new ArrayList<>();
            for (JsonNode c : root.get("cases")) {
                cases.add(new Case(c.get("text").asText(), ints(c.get("input_ids")), ints(c.get("greedy_ids"))));
            }
            return new ReferenceCases(dir.resolve(name), cases);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = array.get(i).asInt();
        return out;
    }
}
