package org.autoglm.models.grammar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The matcher on a small hand-made vocabulary, where every mask can be checked token by token. */
class GrammarMatcherTest {

    /** Single characters, some longer pieces, a multi-byte character split in two, and stop id 0. */
    static final List<String> PIECES = List.of("{", "}", "\"", ":", ",", "a", "b", "c", "1", "2", "0", "-", ".",
            "e", "x", "\":", "\",\"", "{\"", "ab", "abc", "12", "true", "false", "null", "tru", "[", "]", " ",
            "\\", "n", "u", "é", "<tool_call>", "hello", "</tool_call>", "\"}", "\"]", "},{", "l", "s", "f", "r", "t");

    static TokenVocabulary smallVocabulary() {
        List<byte[]> bytes = new ArrayList<>();
        bytes.add(null);   // id 0: stop
        for (String p : PIECES) {
            bytes.add(p.getBytes(StandardCharsets.UTF_8));
        }
        byte[] e = "é".getBytes(StandardCharsets.UTF_8);
        bytes.add(new byte[] {e[0]});
        bytes.add(new byte[] {e[1]});
        bytes.add(null);   // a special token without text
        return TokenVocabulary.of(bytes.toArray(new byte[0][]), new int[] {0});
    }

    static final TokenVocabulary VOCAB = smallVocabulary();
    static final GrammarCompiler COMPILER = new GrammarCompiler(VOCAB);

    /** The mask must allow exactly the tokens acceptToken takes. */
    static void assertMaskMatchesAcceptToken(GrammarMatcher m) {
        long[] mask = new long[GrammarMatcher.bitmaskWords(VOCAB.size())];
        m.fillNextTokenBitmask(mask);
        for (int t = 0; t < VOCAB.size(); t++) {
            boolean allowed = (mask[t >>> 6] & (1L << t)) != 0;
            GrammarMatcher probe = m.copy();
            assertThat(probe.acceptToken(t)).as("token %d (%s) at mask %s", t, t == 0 ? "stop" : t <= PIECES.size()
                    ? PIECES.get(t - 1) : "?", allowed).isEqualTo(allowed);
        }
    }

    static boolean accepts(CompiledGrammar g, String text) {
        GrammarMatcher m = new GrammarMatcher(g);
        return m.acceptString(text) && m.canTerminate();
    }

    @Test
    void masksAgreeWithAcceptTokenAlongRandomWalks() {
        List<Grammar> grammars = List.of(
                Grammar.jsonSchema("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\"},"
                        + "\"b\":{\"type\":\"string\"}},\"required\":[\"a\"]}"),
                Grammar.anyJson(),
                // The same string lexeme at several positions, under different stacks (the pop-walk cache's key).
                Grammar.jsonSchema("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"},"
                        + "\"b\":{\"type\":\"array\",\"items\":{\"type\":\"string\",\"maxLength\":3}},"
                        + "\"c\":{\"type\":\"string\"}}}"),
                Grammar.regex("(ab|c)+[0-9]{1,3}"),
                Grammar.choice(List.of("true", "tru", "null")),
                Grammar.ebnf("root ::= \"[\" item (\",\" item)* \"]\"\nitem ::= [a-c]+ | root"),
                Grammar.triggered(Map.of("<tool_call>", Grammar.sequence(Grammar.anyJsonObject(),
                        Grammar.literal("</tool_call>"))), true));
        Random random = new Random(7);
        for (Grammar grammar : grammars) {
            CompiledGrammar compiled = COMPILER.compile(grammar);
            for (int walk = 0; walk < 20; walk++) {
                GrammarMatcher m = new GrammarMatcher(compiled);
                StringBuilder text = new StringBuilder();
                for (int step = 0; step < 30 && !m.isTerminated(); step++) {
                    assertMaskMatchesAcceptToken(m);
                    long[] mask = new long[GrammarMatcher.bitmaskWords(VOCAB.size())];
                    m.fillNextTokenBitmask(mask);
                    List<Integer> allowed = new ArrayList<>();
                    for (int t = 0; t < VOCAB.size(); t++) {
                        if ((mask[t >>> 6] & (1L << t)) != 0) {
                            allowed.add(t);
                        }
                    }
                    assertThat(allowed).as("a live grammar always allows something: %s after %s", grammar, text)
                            .isNotEmpty();
                    int t = allowed.get(random.nextInt(allowed.size()));
                    text.append(t == 0 ? "<stop>" : t <= PIECES.size() ? PIECES.get(t - 1) : "#" + t);
                    assertThat(m.acceptToken(t)).isTrue();
                }
            }
        }
    }

    @Test
    void jsonSchemaAcceptsValidAndRejectsInvalidText() {
        CompiledGrammar g = COMPILER.compile(Grammar.jsonSchema("{\"type\":\"object\",\"properties\":{"
                + "\"a\":{\"type\":\"integer\",\"minimum\":-5,\"maximum\":120},"
                + "\"b\":{\"type\":\"array\",\"items\":{\"enum\":[\"x\",1,null]},\"maxItems\":2},"
                + "\"c\":{\"type\":\"string\",\"pattern\":\"^a[bc]*$\"}},"
                + "\"required\":[\"a\"],\"additionalProperties\":false}"));
        assertThat(accepts(g, "{\"a\":7}")).isTrue();
        assertThat(accepts(g, "{\"a\":-5,\"b\":[\"x\",null],\"c\":\"abcb\"}")).isTrue();
        assertThat(accepts(g, "{\"a\":120,\"c\":\"a\"}")).isTrue();
        assertThat(accepts(g, "{\"a\":121}")).isFalse();
        assertThat(accepts(g, "{\"a\":-6}")).isFalse();
        assertThat(accepts(g, "{\"b\":[]}")).isFalse();
        assertThat(accepts(g, "{\"a\":1,\"b\":[1,1,1]}")).isFalse();
        assertThat(accepts(g, "{\"a\":1,\"c\":\"ba\"}")).isFalse();
        assertThat(accepts(g, "{\"a\":1,\"d\":2}")).isFalse();
        assertThat(accepts(g, "{\"a\":1")).isFalse();
    }

    @Test
    void additionalPropertiesNeverShadowDeclaredOnes() {
        CompiledGrammar g = COMPILER.compile(Grammar.jsonSchema(
                "{\"properties\":{\"a\":{\"type\":\"integer\"}},\"additionalProperties\":{\"type\":\"string\"}}"));
        assertThat(accepts(g, "{\"a\":1,\"b\":\"x\"}")).isTrue();
        assertThat(accepts(g, "{\"b\":\"x\"}")).isTrue();
        assertThat(accepts(g, "{\"a\":\"x\"}")).isFalse();
        assertThat(accepts(g, "{\"b\":1}")).isFalse();
    }

    @Test
    void stopTokenOnlyWhereTheGrammarMayEnd() {
        CompiledGrammar g = COMPILER.compile(Grammar.choice(List.of("ab", "abc")));
        GrammarMatcher m = new GrammarMatcher(g);
        assertThat(m.canTerminate()).isFalse();
        assertThat(m.acceptToken(0)).isFalse();
        assertThat(m.acceptToken(id("ab"))).isTrue();
        assertThat(m.canTerminate()).isTrue();
        assertThat(m.acceptToken(0)).isTrue();
        assertThat(m.isTerminated()).isTrue();
        assertThat(m.acceptToken(id("c"))).isFalse();
        m.rollback(1);
        assertThat(m.isTerminated()).isFalse();
        assertThat(m.acceptToken(id("c"))).isTrue();
        m.rollback(2);
        assertThat(m.acceptToken(id("abc"))).isTrue();
        assertThat(m.canTerminate()).isTrue();
    }

    @Test
    void specialTokensWithoutTextAreNeverAllowed() {
        GrammarMatcher m = new GrammarMatcher(COMPILER.compile(Grammar.freeText()));
        assertThat(m.acceptToken(VOCAB.size() - 1)).isFalse();
        assertThat(m.acceptToken(id("<tool_call>"))).isTrue();
    }

    @Test
    void multiByteCharactersMaySplitAcrossTokens() {
        GrammarMatcher m = new GrammarMatcher(COMPILER.compile(Grammar.literal("aé")));
        assertThat(m.acceptToken(id("a"))).isTrue();
        assertThat(m.acceptToken(VOCAB.size() - 2)).as("second byte first").isFalse();
        assertThat(m.acceptToken(VOCAB.size() - 3)).isTrue();
        assertThat(m.canTerminate()).isFalse();
        assertThat(m.acceptToken(VOCAB.size() - 2)).isTrue();
        assertThat(m.canTerminate()).isTrue();
    }

    @Test
    void forcedContinuationFollowsTheOnlyPath() {
        CompiledGrammar g = COMPILER.compile(Grammar.jsonSchema("{\"type\":\"object\",\"properties\":{"
                + "\"name\":{\"type\":\"string\"},\"x\":{\"const\":\"é1\"}},\"required\":[\"name\",\"x\"],"
                + "\"additionalProperties\":false}"));
        GrammarMatcher m = new GrammarMatcher(g);
        assertThat(m.forcedContinuation()).isEqualTo("{\"name\":\"");
        assertThat(m.acceptString("{\"name\":\"bob\"")).isTrue();
        assertThat(m.forcedContinuation()).isEqualTo(",\"x\":\"é1\"}");
        assertThat(m.acceptString(m.forcedContinuation())).isTrue();
        assertThat(m.canTerminate()).isTrue();
        assertThat(m.forcedContinuation()).isEmpty();
    }

    @Test
    void triggeredGrammarLetsTextRunUntilTheTrigger() {
        CompiledGrammar g = COMPILER.compile(Grammar.triggered(Map.of("<tool_call>",
                Grammar.sequence(Grammar.jsonSchema("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":"
                        + "\"integer\"}},\"required\":[\"a\"],\"additionalProperties\":false}"),
                        Grammar.literal("</tool_call>"))), false));
        assertThat(accepts(g, "hello there")).isTrue();
        assertThat(accepts(g, "hi <tool_call>{\"a\":1}</tool_call>")).isTrue();
        assertThat(accepts(g, "hi <tool_call>{\"a\":\"x\"}</tool_call>")).isFalse();
        assertThat(accepts(g, "<tool_call>{\"a\":1}</tool_call> more")).isFalse();
        GrammarMatcher m = new GrammarMatcher(g);
        assertThat(m.acceptToken(id("<tool_call>"))).isTrue();
        assertThat(m.forcedContinuation()).isEqualTo("{\"a\":");
    }

    @Test
    void unsupportedKeywordsAreRefusedWithTheirPointer() {
        assertThatThrownBy(() -> Grammar.jsonSchema("{\"properties\":{\"a\":{\"type\":\"object\","
                + "\"propertyNames\":{\"maxLength\":2}}}}"))
                .isInstanceOfSatisfying(GrammarException.class, e -> {
                    assertThat(e.keyword()).isEqualTo("propertyNames");
                    assertThat(e.pointer()).isEqualTo("/properties/a/propertyNames");
                });
        assertThatThrownBy(() -> Grammar.jsonSchema("{\"type\":\"string\",\"format\":\"hostname\"}"))
                .isInstanceOfSatisfying(GrammarException.class, e -> assertThat(e.keyword()).isEqualTo("format"));
        assertThatThrownBy(() -> Grammar.jsonSchema("{\"oneOf\":[{\"type\":\"string\"},{\"maxLength\":3}]}"))
                .isInstanceOfSatisfying(GrammarException.class, e -> assertThat(e.keyword()).isEqualTo("oneOf"));
        assertThatThrownBy(() -> Grammar.regex("(a)\\1")).isInstanceOf(GrammarException.class);
        assertThatThrownBy(() -> COMPILER.compile(Grammar.ebnf("root ::= root \"a\" | \"b\"")))
                .hasMessageContaining("left-recursive");
        assertThatThrownBy(() -> Grammar.ebnf("item ::= \"a\"")).hasMessageContaining("root");
    }

    @Test
    void finiteValuesAreFilteredByTheKeywordsBesideThem() {
        // not, multipleOf and maxProperties cannot be grammars, but next to an enum each value is checked exactly.
        CompiledGrammar g = COMPILER.compile(Grammar.jsonSchema("{\"allOf\":[{\"enum\":[1,2,3,4,\"ab\"]},"
                + "{\"not\":{\"enum\":[2]}},{\"multipleOf\":1}]}"));
        assertThat(accepts(g, "1")).isTrue();
        assertThat(accepts(g, "3")).isTrue();
        assertThat(accepts(g, "\"ab\"")).isTrue();
        assertThat(accepts(g, "2")).isFalse();
        assertThat(accepts(g, "5")).isFalse();
        CompiledGrammar objects = COMPILER.compile(Grammar.jsonSchema("{\"enum\":[{\"a\":1},{\"a\":1,\"b\":2}],"
                + "\"maxProperties\":1}"));
        assertThat(accepts(objects, "{\"a\":1}")).isTrue();
        assertThat(accepts(objects, "{\"a\":1,\"b\":2}")).isFalse();
        // Without a finite set the keyword is still refused, naming itself.
        assertThatThrownBy(() -> Grammar.jsonSchema("{\"type\":\"integer\",\"not\":{\"enum\":[2]}}"))
                .isInstanceOfSatisfying(GrammarException.class, e -> assertThat(e.keyword()).isEqualTo("not"));
    }

    @Test
    void integersMayHaveAZeroFractionFromDraft6On() {
        CompiledGrammar g = COMPILER.compile(Grammar.jsonSchema("{\"type\":\"integer\",\"maximum\":12}"));
        assertThat(accepts(g, "2")).isTrue();
        assertThat(accepts(g, "2.0")).isTrue();
        assertThat(accepts(g, "2.00")).isTrue();
        assertThat(accepts(g, "2.5")).isFalse();
        assertThat(accepts(g, "2.")).isFalse();
        assertThat(accepts(g, "13.0")).isFalse();
        CompiledGrammar draft4 = COMPILER.compile(Grammar.jsonSchema("{\"$schema\":"
                + "\"http://json-schema.org/draft-04/schema#\",\"type\":\"integer\"}"));
        assertThat(accepts(draft4, "2")).isTrue();
        assertThat(accepts(draft4, "2.0")).isFalse();
    }

    @Test
    void recursiveReferencesCompile() {
        CompiledGrammar g = COMPILER.compile(Grammar.jsonSchema("{\"$ref\":\"#/$defs/node\",\"$defs\":{\"node\":"
                + "{\"type\":\"object\",\"properties\":{\"v\":{\"type\":\"integer\"},\"next\":{\"$ref\":"
                + "\"#/$defs/node\"}},\"required\":[\"v\"],\"additionalProperties\":false}}}"));
        assertThat(accepts(g, "{\"v\":1,\"next\":{\"v\":2,\"next\":{\"v\":3}}}")).isTrue();
        assertThat(accepts(g, "{\"v\":1,\"next\":{\"next\":{\"v\":3}}}")).isFalse();
    }

    static int id(String piece) {
        int i = PIECES.indexOf(piece);
        if (i < 0) {
            throw new IllegalArgumentException(piece);
        }
        return i + 1;
    }
}
