package org.autoglm.models.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.StreamSupport;

/**
 * The reference checkpoints in {@code fixtures/} (see its README) and their {@code *.reference.json}:
 * found through the {@code autoglm.fixtures} property surefire sets, else relative to the repository root.
 */
public final class ReferenceFixtures {

    public static final List<String> CHECKPOINTS = List.of("glm-tiny", "glm4-tiny");

    private static final ObjectMapper JSON = new ObjectMapper();

    private ReferenceFixtures() {}

    public static Path root() {
        String property = System.getProperty("autoglm.fixtures");
        List<Path> candidates = new ArrayList<>();
        if (property != null) {
            candidates.add(Path.of(property));
        }
        candidates.add(Path.of("../fixtures"));
        candidates.add(Path.of("fixtures"));
        for (Path candidate : candidates) {
            if (Files.isDirectory(candidate.resolve("glm4-tiny"))) {
                return candidate.toAbsolutePath().normalize();
            }
        }
        throw new IllegalStateException("reference fixtures not found (looked at " + candidates
                + "); run the tests from the repository root or a module");
    }

    public static Path checkpoint(String name) {
        return root().resolve(name);
    }

    public static JsonNode reference(String name) {
        try {
            return JSON.readTree(root().resolve(name + ".reference.json").toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static List<JsonNode> cases(String name) {
        return StreamSupport.stream(reference(name).get("cases").spliterator(), false).toList();
    }

    public static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asInt();
        }
        return out;
    }
}
