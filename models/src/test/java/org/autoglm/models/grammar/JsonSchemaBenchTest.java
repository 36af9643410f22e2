package org.autoglm.models.grammar;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.autoglm.models.tokenizer.GlmTokenizer;
import org.junit.jupiter.api.Test;

/**
 * MaskBench's schemas (fixtures/jsonschemabench.zip) through the 151k Qwen3 tokenizer: every valid instance of a
 * schema we compile is accepted token by token, and no invalid instance is. Coverage is printed.
 */
class JsonSchemaBenchTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    record Outcome(String file, boolean compiled, String refusal, List<String> validRejected,
            List<String> invalidAccepted, int tests) { }

    @Test
    void acceptsEveryValidInstanceAndNoInvalidOne() throws IOException {
        GlmTokenizer tokenizer = GrammarFixtures.qwenTokenizer();
        GrammarCompiler compiler = new GrammarCompiler(GrammarFixtures.qwenVocabulary());
        List<Path> files;
        try (Stream<Path> s = Files.list(GrammarFixtures.schemas())) {
            files = s.filter(p -> p.toString().endsWith(".json")).sorted().toList();
        }
        int stride = Integer.getInteger("grammar.bench.stride", 8);
        List<Path> sample = new ArrayList<>();
        for (int i = 0; i < files.size(); i += stride) {
            sample.add(files.get(i));
        }
        files = sample;
        List<Outcome> outcomes = new ArrayList<>();
        List<String> slow = new ArrayList<>();
        for (Path file : files) {
            long t0 = System.nanoTime();
            outcomes.add(run(file, compiler, tokenizer));
            long ms = (System.nanoTime() - t0) / 1_000_000;
            if (ms > 300) {
                slow.add(ms + " ms " + file.getFileName());
            }
        }
        slow.forEach(s -> System.out.println("  slow: " + s));
        long compiled = outcomes.stream().filter(Outcome::compiled).count();
        long withTests = outcomes.stream().filter(o -> o.compiled && o.tests > 0).count();
        long passing = outcomes.stream().filter(o -> o.compiled && o.validRejected.isEmpty()
                && o.invalidAccepted.isEmpty()).count();
        List<String> invalidAccepted = outcomes.stream().flatMap(o -> o.invalidAccepted.stream()).toList();
        List<String> validRejected = outcomes.stream().flatMap(o -> o.validRejected.stream()).toList();
        System.out.printf("jsonschemabench: %d schemas, %d compiled (%d with tests), %d passing; %d valid"
                + " instances rejected, %d invalid accepted%n", files.size(), compiled, withTests, passing,
                validRejected.size(), invalidAccepted.size());
        validRejected.stream().limit(40).forEach(v -> System.out.println("  valid rejected: " + v));
        outcomes.stream().filter(o -> !o.compiled).limit(0).forEach(o -> System.out.println("  refused " + o.file
                + ": " + o.refusal));
        assertThat(invalidAccepted).isEmpty();
        assertThat(validRejected).isEmpty();
        assertThat(compiled).as("coverage of the sample").isGreaterThan(files.size() * 7L / 10);
    }

    private static Outcome run(Path file, GrammarCompiler compiler, GlmTokenizer tokenizer) throws IOException {
        JsonNode doc = JSON.readTree(file.toFile());
        String name = file.getFileName().toString();
        CompiledGrammar grammar;
        try {
            grammar = compiler.compile(Grammar.jsonSchema(doc.get("schema").toString()));
        } catch (GrammarException e) {
            return new Outcome(name, false, e.getMessage(), List.of(), List.of(), 0);
        }
        List<String> validRejected = new ArrayList<>();
        List<String> invalidAccepted = new ArrayList<>();
        int tests = 0;
        for (JsonNode test : doc.path("tests")) {
            tests++;
            String text = JSON.writeValueAsString(test.get("data"));
            boolean accepted = accepts(grammar, tokenizer.encode(text));
            boolean valid = test.get("valid").asBoolean();
            if (valid && !accepted) {
                validRejected.add(name + " " + abbreviate(text));
            } else if (!valid && accepted) {
                invalidAccepted.add(name + " " + abbreviate(text));
            }
        }
        return new Outcome(name, true, null, validRejected, invalidAccepted, tests);
    }

    /** Token by token; each accepted token must also be in the mask computed before it. */
    static boolean accepts(CompiledGrammar grammar, int[] tokens) {
        GrammarMatcher m = new GrammarMatcher(grammar);
        long[] mask = new long[GrammarMatcher.bitmaskWords(grammar.vocabulary().size())];
        for (int t : tokens) {
            m.fillNextTokenBitmask(mask);
            boolean inMask = (mask[t >>> 6] & (1L << t)) != 0;
            boolean accepted = m.acceptToken(t);
            assertThat(inMask).as("mask and acceptToken agree on token %d", t).isEqualTo(accepted);
            if (!accepted) {
                return false;
            }
        }
        m.fillNextTokenBitmask(mask);
        int stop = grammar.vocabulary().stopIds()[0];
        assertThat((mask[stop >>> 6] & (1L << stop)) != 0).isEqualTo(m.canTerminate());
        return m.canTerminate();
    }

    private static String abbreviate(String s) {
        return s.length() <= 160 ? s : s.substring(0, 160) + "...";
    }
}
