package org.autoglm.models.grammar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.autoglm.models.grammar.GrammarMatcherTest.COMPILER;
import static org.autoglm.models.grammar.GrammarMatcherTest.accepts;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** patternProperties enforced exactly, checked against a maintained validator (networknt) on every small object. */
class PatternPropertiesTest {

    static final ObjectMapper JSON = new ObjectMapper();
    static final String CLOSED = "{\"type\":\"object\",\"properties\":{\"ab\":{\"type\":\"string\"},\"xa\":{\"type\":"
            + "\"integer\",\"minimum\":0}},\"patternProperties\":{\"^x\":{\"type\":\"integer\",\"maximum\":5}},"
            + "\"additionalProperties\":false}";
    static final String OVERLAPPING = "{\"patternProperties\":{\"a\":{\"type\":\"integer\"},\"b\":{\"minimum\":2}},"
            + "\"additionalProperties\":{\"type\":\"string\"}}";

    @Test
    void aMatchingNameGetsThePatternsSchemaAndOthersAdditionalProperties() {
        CompiledGrammar closed = COMPILER.compile(Grammar.jsonSchema(CLOSED));
        assertThat(accepts(closed, "{\"ab\":\"c\",\"x1\":1,\"xb\":5}")).isTrue();
        assertThat(accepts(closed, "{\"xa\":3}")).isTrue();
        assertThat(accepts(closed, "{\"xa\":7}")).isFalse();    // declared, and matches ^x: both schemas apply
        assertThat(accepts(closed, "{\"xa\":-1}")).isFalse();
        assertThat(accepts(closed, "{\"x\":\"s\"}")).isFalse();
        assertThat(accepts(closed, "{\"b\":1}")).isFalse();     // matches nothing: additionalProperties false

        CompiledGrammar overlapping = COMPILER.compile(Grammar.jsonSchema(OVERLAPPING));
        assertThat(accepts(overlapping, "{\"ab\":3,\"b\":2.5,\"a\":1,\"c\":\"s\"}")).isTrue();
        assertThat(accepts(overlapping, "{\"ab\":1}")).isFalse();   // matches both: integer and at least 2
        assertThat(accepts(overlapping, "{\"ab\":2.5}")).isFalse();
        assertThat(accepts(overlapping, "{\"c\":1}")).isFalse();
        // a key spelled with an escape may not dodge its pattern ("\u0061" is "a")
        assertThat(accepts(overlapping, "{\"\\u0061\":\"s\"}")).isFalse();
    }

    @Test
    void nothingTheGrammarAcceptsIsInvalid() throws Exception {
        List<String> keys = List.of("a", "b", "ab", "ba", "x", "xa", "xb", "c", "\\/", "x/", "\\u0061");
        List<String> values = List.of("1", "3", "7", "-1", "2.5", "\"s\"", "null");
        for (String schemaText : List.of(CLOSED, OVERLAPPING)) {
            CompiledGrammar g = COMPILER.compile(Grammar.jsonSchema(schemaText));
            JsonSchema validator = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012).getSchema(schemaText);
            int accepted = 0;
            for (String text : objects(keys, values)) {
                if (accepts(g, text)) {
                    accepted++;
                    assertThat(validator.validate(JSON.readTree(text))).as(schemaText + " accepted " + text).isEmpty();
                }
            }
            assertThat(accepted).as(schemaText).isGreaterThan(20);
        }
    }

    @Test
    void masksAgreeWithAcceptTokenInPatternKeys() {
        GrammarMatcher m = new GrammarMatcher(COMPILER.compile(Grammar.jsonSchema(OVERLAPPING)));
        for (char c : "{\"ab\":3,\"b\":2.5,\"c\":\"s\"}".toCharArray()) {
            GrammarMatcherTest.assertMaskMatchesAcceptToken(m);
            assertThat(m.acceptString(String.valueOf(c))).as("at %s", c).isTrue();
        }
        assertThat(m.canTerminate()).isTrue();
    }

    @Test
    void whatCannotBeEnforcedIsRefusedWithItsPointer() {
        assertThatThrownBy(() -> Grammar.jsonSchema("{\"properties\":{\"o\":{\"patternProperties\":{\"(a)\\\\1\":{}}}}}"))
                .isInstanceOfSatisfying(GrammarException.class, e -> {
                    assertThat(e.keyword()).isEqualTo("patternProperties");
                    assertThat(e.pointer()).isEqualTo("/properties/o/patternProperties/(a)\\1");
                });
        assertThatThrownBy(() -> Grammar.jsonSchema("{\"patternProperties\":{\"a\":{},\"b\":{},\"c\":{},\"d\":{},"
                + "\"e\":{}}}"))
                .isInstanceOfSatisfying(GrammarException.class, e -> {
                    assertThat(e.keyword()).isEqualTo("patternProperties");
                    assertThat(e.pointer()).isEqualTo("/patternProperties");
                });
        assertThatThrownBy(() -> Grammar.jsonSchema("{\"allOf\":[{\"patternProperties\":{\"a\":{}}},"
                + "{\"additionalProperties\":false}]}"))
                .isInstanceOfSatisfying(GrammarException.class, e -> assertThat(e.keyword())
                        .isEqualTo("patternProperties"));
    }

    /** Every object of one or two members (distinct keys) over these keys and values, compact. */
    private static List<String> objects(List<String> keys, List<String> values) {
        List<String> out = new ArrayList<>();
        for (String k : keys) {
            for (String v : values) {
                out.add("{\"" + k + "\":" + v + "}");
                for (String k2 : keys) {
                    if (!k2.equals(k)) {
                        for (String v2 : List.of("1", "\"s\"", "3")) {
                            out.add("{\"" + k + "\":" + v + ",\"" + k2 + "\":" + v2 + "}");
                        }
                    }
                }
            }
        }
        return out;
    }
}
