package org.autoglm.models.grammar;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Trie subtrees shared between lexemes ({@link LexemeWalk}) on the 151k Qwen3 vocabulary: a mask computed from
 * subtrees another grammar walked must equal the mask a compiler that never saw that grammar computes. The warm
 * grammars are chosen to leave subtrees a different lexeme can reuse: a plain string's content (reused by keys that
 * left every declared key, and by counted strings with more characters left than a subtree's tokens have bytes).
 */
class SharedSubtreesTest {

    private static final String OPEN_OBJECT = "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},"
            + "\"nation\":{\"type\":\"string\",\"maxLength\":40}},\"additionalProperties\":{\"type\":\"integer\"}}";

    @Test
    void masksFromSharedSubtreesEqualMasksWalkedAlone() {
        TokenVocabulary vocabulary = GrammarFixtures.qwenVocabulary();
        GrammarCompiler warm = new GrammarCompiler(vocabulary);
        long[] scratch = new long[GrammarMatcher.bitmaskWords(vocabulary.size())];
        walk(warm, "{\"type\":\"string\"}", "\"hello world\"", scratch);
        walk(warm, "{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"string\",\"maxLength\":60}},"
                + "\"additionalProperties\":true}", "{\"id\":\"abc\",\"zz\":1}", scratch);
        String text = "{\"name\":\"Ada Lovelace\",\"nation\":\"United Kingdom of Great Britain\",\"nam\":1,"
                + "\"natio\":2,\"x y\":3}";
        List<long[]> shared = walk(warm, OPEN_OBJECT, text, null);
        List<long[]> alone = walk(new GrammarCompiler(vocabulary), OPEN_OBJECT, text, null);
        assertThat(shared).hasSameSizeAs(alone).hasSizeGreaterThan(10);
        for (int i = 0; i < shared.size(); i++) {
            assertThat(shared.get(i)).as("mask before token %d", i).isEqualTo(alone.get(i));
        }
        // And each is exact: a token's bit is set exactly when the matcher accepts the token there.
        GrammarMatcher exact = new GrammarMatcher(warm.compile(Grammar.jsonSchema(OPEN_OBJECT)));
        int[] tokens = GrammarFixtures.qwenTokenizer().encode(text);
        for (int i = 0; i < tokens.length; i++) {
            long[] mask = shared.get(i);
            for (int t = 0; t < vocabulary.size(); t++) {
                boolean allowed = (mask[t >>> 6] & (1L << t)) != 0;
                if (allowed != exact.copy().acceptToken(t)) {
                    throw new AssertionError("token " + t + " before token " + i + ": mask says " + allowed);
                }
            }
            exact.acceptToken(tokens[i]);
        }
        // A key that may not be "name" but has left it ("nam" then "e" would shadow it) still refuses "e\"".
        GrammarMatcher m = new GrammarMatcher(warm.compile(Grammar.jsonSchema(OPEN_OBJECT)));
        assertThat(m.acceptString("{\"name\":\"a\",\"nation\":\"b\",\"nam")).isTrue();
        assertThat(m.copy().acceptString("e\"")).isFalse();
        assertThat(m.acceptString("es\":5}")).isTrue();
        assertThat(m.canTerminate()).isTrue();
    }

    /** The mask before each token of {@code text} (which the grammar must accept), in a fresh list. */
    private static List<long[]> walk(GrammarCompiler compiler, String schema, String text, long[] scratch) {
        TokenVocabulary vocabulary = compiler.vocabulary();
        GrammarMatcher m = new GrammarMatcher(compiler.compile(Grammar.jsonSchema(schema)));
        List<long[]> masks = new java.util.ArrayList<>();
        for (int token : GrammarFixtures.qwenTokenizer().encode(text)) {
            long[] mask = scratch != null ? scratch : new long[GrammarMatcher.bitmaskWords(vocabulary.size())];
            m.fillNextTokenBitmask(mask);
            assertThat(mask[token >>> 6] & (1L << token)).as("token %d allowed", token).isNotZero();
            assertThat(m.acceptToken(token)).isTrue();
            if (scratch == null) {
                masks.add(mask);
            }
        }
        assertThat(m.canTerminate()).isTrue();
        return masks;
    }
}
