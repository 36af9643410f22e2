package org.autoglm.models.grammar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.autoglm.models.grammar.GrammarMatcherTest.COMPILER;
import static org.autoglm.models.grammar.GrammarMatcherTest.accepts;

import org.junit.jupiter.api.Test;

/**
 * Keys an object allows beyond its declared properties: a declared name may not come back as an "additional" key by
 * being spelled with an escape, which would let its value skip the declared schema.
 */
class UndeclaredKeysTest {

    @Test
    void aDeclaredNameSpelledWithAnEscapeIsNotAnAdditionalKey() {
        CompiledGrammar open = COMPILER.compile(Grammar.jsonSchema(
                "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\"}}}"));
        assertThat(accepts(open, "{\"a\":1,\"b\":\"x\"}")).isTrue();
        assertThat(accepts(open, "{\"a\":\"x\"}")).isFalse();
        assertThat(accepts(open, "{\"\\u0061\":\"x\"}")).as("\\u0061 is a").isFalse();
        assertThat(accepts(open, "{\"\\u0062\":\"x\"}")).as("keys are written in canonical spelling").isFalse();

        CompiledGrammar typed = COMPILER.compile(Grammar.jsonSchema("{\"type\":\"object\",\"properties\":{\"a/b\":"
                + "{\"type\":\"integer\"}},\"additionalProperties\":{\"type\":\"string\"}}"));
        assertThat(accepts(typed, "{\"a/b\":1,\"c\":\"x\"}")).isTrue();
        // A declared key is written as its name, so another spelling of it is neither declared nor additional.
        assertThat(accepts(typed, "{\"a\\/b\":\"x\"}")).isFalse();
        assertThat(accepts(typed, "{\"a\\u002fb\":\"x\"}")).isFalse();
    }
}
