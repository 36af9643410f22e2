package org.autoglm.models.grammar;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * The masks that are not walked token by token must still be exact, on the 151k Qwen3 vocabulary: before every
 * token of a text the grammar accepts, a token's bit is set exactly when the matcher accepts that token there.
 * Covers the counted strings' length classes ({@link StringLengths}), keys walked against the string they become
 * ({@link LexemeWalk#walkAgainst}), and tokens that end a rule and run on into its caller (answered from the
 * caller's mask, or walked when a rule returns to where it is called from again).
 */
class MaskExactnessTest {

    @Test
    void countedStringsAllowExactlyTheTokensThatFitTheCount() {
        GrammarCompiler compiler = new GrammarCompiler(GrammarFixtures.qwenVocabulary());
        String schema = "{\"type\":\"object\",\"properties\":{\"code\":{\"type\":\"string\",\"minLength\":3,"
                + "\"maxLength\":9},\"tag\":{\"type\":\"string\",\"minLength\":2},\"n\":{\"type\":\"integer\"}},"
                + "\"required\":[\"code\",\"tag\",\"n\"]}";
        assertExact(compiler, Grammar.jsonSchema(schema), "{\"code\":\"ab\\\"cé中de\",\"tag\":\"a b c d\",\"n\":42}");
        GrammarMatcher m = new GrammarMatcher(compiler.compile(Grammar.jsonSchema(schema)));
        assertThat(m.copy().acceptString("{\"code\":\"ab\",")).isFalse();
        assertThat(m.copy().acceptString("{\"code\":\"abcdefghij")).isFalse();
        assertThat(m.acceptString("{\"code\":\"abc\",\"tag\":\"")).isTrue();
        assertThat(m.copy().acceptString("x\"")).isFalse();
    }

    @Test
    void keysThatMayNotBeDeclaredKeysAndOpenObjects() {
        GrammarCompiler compiler = new GrammarCompiler(GrammarFixtures.qwenVocabulary());
        String schema = "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},\"names\":{\"type\":"
                + "\"array\",\"items\":{\"type\":\"string\",\"maxLength\":4}}},\"additionalProperties\":"
                + "{\"type\":\"number\"}}";
        assertExact(compiler, Grammar.jsonSchema(schema),
                "{\"name\":\"x\",\"names\":[\"ab\",\"\"],\"nam\":1.5,\"namesake\":2,\"\":3}");
    }

    @Test
    void aRuleRepeatedWithoutSeparatorReturnsToWhereItIsCalledFrom() {
        GrammarCompiler compiler = new GrammarCompiler(GrammarFixtures.qwenVocabulary());
        Grammar words = Grammar.ebnf("root ::= word+ \".\"\nword ::= [a-z]+ \" \"");
        assertExact(compiler, words, "the quick brown fox jumps .");
    }

    /** Walks {@code text} token by token, comparing each mask with acceptToken over the whole vocabulary. */
    private static void assertExact(GrammarCompiler compiler, Grammar grammar, String text) {
        TokenVocabulary vocabulary = compiler.vocabulary();
        GrammarMatcher m = new GrammarMatcher(compiler.compile(grammar));
        long[] mask = new long[GrammarMatcher.bitmaskWords(vocabulary.size())];
        int[] tokens = GrammarFixtures.qwenTokenizer().encode(text);
        for (int i = 0; i < tokens.length; i++) {
            m.fillNextTokenBitmask(mask);
            for (int t = 0; t < vocabulary.size(); t++) {
                boolean allowed = (mask[t >>> 6] & (1L << t)) != 0;
                if (allowed != m.copy().acceptToken(t)) {
                    throw new AssertionError("token " + t + " before token " + i + " of " + text + ": mask says "
                            + allowed);
                }
            }
            assertThat(m.acceptToken(tokens[i])).as("token %d of %s", i, text).isTrue();
        }
        assertThat(m.canTerminate()).isTrue();
    }
}
