package org.autoglm.models.grammar;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SchemaValidatorsConfig;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.SpecVersionDetector;
import com.networknt.schema.ValidationMessage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Generation under the grammar, on random logits: for MaskBench schemas we compile, tokens are drawn at random
 * among those the mask allows (half the time among the allowed ones that close something, so that outputs end
 * within the budget), and every finished output must satisfy the schema by a maintained validator (networknt,
 * with format assertions on).
 */
class RandomSamplingValidityTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MAX_TOKENS = 400;

    @Test
    void everyFinishedOutputValidates() throws IOException {
        TokenVocabulary vocab = GrammarFixtures.qwenVocabulary();
        GrammarCompiler compiler = new GrammarCompiler(vocab);
        boolean[] closing = new boolean[vocab.size()];
        for (int t = 0; t < vocab.size(); t++) {
            byte[] b = vocab.bytes(t);
            if (b != null) {
                for (byte x : b) {
                    closing[t] |= x == '"' || x == ']' || x == '}';
                }
            }
        }
        List<Path> files;
        try (Stream<Path> s = Files.list(GrammarFixtures.schemas())) {
            files = s.filter(p -> p.toString().endsWith(".json")).sorted().toList();
        }
        int stride = Integer.getInteger("grammar.sampling.stride", 24);
        Random random = new Random(2026);
        int generated = 0;
        int finished = 0;
        int unvalidated = 0;
        List<String> invalid = new ArrayList<>();
        long[] mask = new long[GrammarMatcher.bitmaskWords(vocab.size())];
        for (int i = 0; i < files.size(); i += stride) {
            JsonNode schema = JSON.readTree(files.get(i).toFile()).get("schema");
            CompiledGrammar grammar;
            try {
                grammar = compiler.compile(Grammar.jsonSchema(schema.toString()));
            } catch (GrammarException e) {
                continue;
            }
            generated++;
            GrammarMatcher m = new GrammarMatcher(grammar);
            ByteArrayOutputStream text = new ByteArrayOutputStream();
            for (int step = 0; step < MAX_TOKENS && !m.isTerminated(); step++) {
                m.fillNextTokenBitmask(mask);
                List<Integer> allowed = new ArrayList<>();
                List<Integer> closers = new ArrayList<>();
                for (int w = 0; w < mask.length; w++) {
                    for (long word = mask[w]; word != 0; word &= word - 1) {
                        int t = (w << 6) + Long.numberOfTrailingZeros(word);
                        allowed.add(t);
                        if (closing[t] || vocab.isStop(t)) {
                            closers.add(t);
                        }
                    }
                }
                assertThat(allowed).as("%s: a live grammar allows some token after %s", files.get(i).getFileName(),
                        text).isNotEmpty();
                List<Integer> pool = !closers.isEmpty() && random.nextBoolean() ? closers : allowed;
                int token = pool.get(random.nextInt(pool.size()));
                assertThat(m.acceptToken(token)).isTrue();
                if (!vocab.isStop(token)) {
                    text.write(vocab.bytes(token));
                }
            }
            if (!m.isTerminated()) {
                continue;
            }
            finished++;
            String output = text.toString(StandardCharsets.UTF_8);
            com.networknt.schema.JsonSchema validator;
            try {
                validator = validator(schema);
            } catch (RuntimeException e) {
                unvalidated++;   // the validator cannot load this schema (e.g. a malformed id)
                continue;
            }
            Set<ValidationMessage> errors = validator.validate(JSON.readTree(output));
            if (!errors.isEmpty()) {
                invalid.add(files.get(i).getFileName() + ": " + output + " -> " + errors);
            }
        }
        System.out.printf("random sampling: %d schemas, %d outputs finished within %d tokens (%d schemas the"
                + " validator cannot load), %d invalid%n", generated, finished, MAX_TOKENS, unvalidated, invalid.size());
        assertThat(invalid).isEmpty();
        assertThat(finished).as("most random outputs finish").isGreaterThan(generated / 2);
    }

    private static com.networknt.schema.JsonSchema validator(JsonNode schema) {
        SpecVersion.VersionFlag version = SpecVersionDetector.detectOptionalVersion(schema, false)
                .orElse(SpecVersion.VersionFlag.V7);
        SchemaValidatorsConfig config = SchemaValidatorsConfig.builder().formatAssertionsEnabled(true).build();
        return JsonSchemaFactory.getInstance(version).getSchema(schema, config);
    }
}
