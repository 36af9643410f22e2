package org.autoglm.node.workflow;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.autoglm.models.grammar.Grammar;
import org.junit.jupiter.api.Test;

/**
 * Templates are held to their schema and to the rules the schema cannot say, each refusal naming the JSON pointer of
 * the value at fault; expressions run in a sandbox.
 */
class TemplateValidationTest {

    private static final WorkflowTemplates CHECKS = new WorkflowTemplates(() -> null, () -> null);

    static final String GOOD = """
            {"name": "triage", "description": "classify, fan out, notify",
             "params": {"type": "object", "properties": {"ticket": {"type": "string"}, "tags": {"type": "array"}},
                        "required": ["ticket"]},
             "steps": [
               {"id": "classify", "kind": "llm", "prompt": "Classify: {{ params.ticket }}", "max_tokens": 4,
                "response_format": {"type": "json_schema", "json_schema": {"name": "c", "schema":
                  {"type": "object", "properties": {"urgent": {"type": "boolean"}}, "required": ["urgent"]}}}},
               {"id": "each", "kind": "transform", "depends_on": ["classify"], "for_each": "{{ params.tags }}",
                "expression": "{{ item | upper }}"},
               {"id": "notify", "kind": "http", "depends_on": ["classify", "each"], "when": "steps.classify.json.urgent",
                "url": "http://127.0.0.1:9/notify", "body": {"text": "{{ steps.each.output }}"},
                "retry": {"max_attempts": 3, "backoff": "exponential", "initial_ms": 10, "max_ms": 100}}
             ],
             "output": "{{ steps.each.json | tojson }}"}
            """;

    static ObjectNode parse(String json) {
        return TemplateReader.parse(json.getBytes(StandardCharsets.UTF_8), "application/json");
    }

    static String pointerOf(String json) {
        try {
            CHECKS.check(parse(json));
        } catch (TemplateException e) {
            return e.pointer() + " :: " + e.getMessage();
        }
        return "accepted";
    }

    @Test
    void theNameOfTheSchemaRouteIsReserved() {
        // GET /v1/workflows/schema serves the template schema: a template of that name could never be read.
        assertThat(pointerOf(GOOD.replace("\"triage\"", "\"schema\""))).startsWith("/name :: ").contains("reserved");
        assertThat(pointerOf(GOOD.replace("\"triage\"", "\"schemas\""))).isEqualTo("accepted");
    }

    @Test
    void aGoodTemplateIsAcceptedInJsonAndInYaml() {
        WorkflowTemplate t = CHECKS.check(parse(GOOD));
        assertThat(t.steps()).extracting(WorkflowTemplate.Step::id).containsExactly("classify", "each", "notify");
        String yaml = """
                name: triage-yaml
                params: {type: object, properties: {ticket: {type: string}}}
                steps:
                  - id: a
                    kind: llm
                    messages:
                      - {role: user, content: "Hello {{ params.ticket }}"}
                  - id: b
                    kind: transform
                    depends_on: [a]
                    expression: "{{ steps.a.output | length }}"
                """;
        WorkflowTemplate y = CHECKS.check(TemplateReader.parse(yaml.getBytes(StandardCharsets.UTF_8), "application/yaml"));
        assertThat(y.steps()).hasSize(2);
    }

    @Test
    void everyRefusalNamesThePointerOfTheValueAtFault() {
        assertThat(pointerOf(GOOD.replace("\"depends_on\": [\"classify\", \"each\"]", "\"depends_on\": [\"nope\"]")))
                .startsWith("/steps/2/depends_on/0 :: ").contains("'nope'");
        assertThat(pointerOf(GOOD.replace("\"depends_on\": [\"classify\"]", "\"depends_on\": [\"notify\"]")))
                .startsWith("/steps/").contains("cycle");
        assertThat(pointerOf(GOOD.replace("params.ticket", "params.customer")))
                .startsWith("/steps/0/prompt :: ").contains("params.customer");
        assertThat(pointerOf(GOOD.replace("{{ item | upper }}", "{{ item | upper ")))
                .startsWith("/steps/1/expression :: ").contains("does not parse");
        assertThat(pointerOf(GOOD.replace("\"urgent\": {\"type\": \"boolean\"}",
                "\"urgent\": {\"type\": \"string\", \"pattern\": \"(a\"}")))
                .startsWith("/steps/0/response_format/json_schema/schema").contains("cannot be enforced");
        assertThat(pointerOf(GOOD.replace("\"max_tokens\": 4", "\"max_tokens\": 4, \"colour\": \"red\"")))
                .startsWith("/steps/0/colour :: ");
        assertThat(pointerOf(GOOD.replace("\"max_attempts\": 3", "\"max_attempts\": 9")))
                .startsWith("/steps/2/retry/max_attempts :: ");
        assertThat(pointerOf(GOOD.replace("\"kind\": \"transform\"", "\"kind\": \"shell\"")))
                .startsWith("/steps/1/kind :: ");
        assertThat(pointerOf(GOOD.replace("{{ steps.each.output }}", "{{ steps.later.output }}")))
                .startsWith("/steps/2/body/text :: ").contains("steps.later");
        assertThat(pointerOf(GOOD.replace("\"id\": \"each\"", "\"id\": \"classify\"")))
                .startsWith("/steps/1/id :: ");
        assertThat(pointerOf(GOOD.replace("\"url\": \"http://127.0.0.1:9/notify\",", "\"expression\": \"x\",")))
                .startsWith("/steps/2/expression :: ");
        assertThat(pointerOf(GOOD.replace("\"prompt\": \"Classify: {{ params.ticket }}\"", "\"prompt\": \"{{ item }}\"")))
                .startsWith("/steps/0/prompt :: ").contains("for_each");
        assertThat(pointerOf(GOOD.replace("\"output\"", "\"outputs\""))).startsWith("/outputs :: ");
    }

    @Test
    void namesInPlainTextAreProseAndParamsHaveTheirDeclaredType() {
        assertThat(pointerOf(GOOD.replace("Classify: {{ params.ticket }}",
                "Summarise each item of the steps.later params.nope list: {{ params.ticket }}"))).isEqualTo("accepted");
        assertThat(pointerOf(GOOD.replace("Classify: {{ params.ticket }}", "Classify {{ item }}")))
                .startsWith("/steps/0/prompt :: ").contains("for_each");
        assertThat(pointerOf(GOOD.replace("\"tags\": {\"type\": \"array\"}",
                        "\"tags\": {\"type\": \"array\"}, \"n\": {\"type\": \"integer\"}")
                .replace("Classify: {{ params.ticket }}", "Classify {{ params.n * 2 }}: {{ params.ticket }}")))
                .isEqualTo("accepted");
    }

    @Test
    void expressionsSeeDataButNoJava() {
        Map<String, Object> ctx = Map.of("params", Map.of("ticket", "help", "n", 3), "steps",
                Map.of("a", Map.of("output", "{\"k\": 1}", "json", Map.of("k", 1, "list", List.of(1, 2)))));
        assertThat(Expressions.render("{{ params.ticket }}/{{ steps.a.json.k }}", ctx)).isEqualTo("help/1");
        assertThat(Expressions.render("{{ params.ticket | upper }}{% if params.n is defined %}!{% endif %}", ctx))
                .isEqualTo("HELP!");
        assertThat(Expressions.evaluate("{{ steps.a.json.list | length }}", ctx)).isEqualTo(2);
        assertThat(Expressions.evaluate("{{ steps.a.json.list }}", ctx)).isEqualTo(List.of(1, 2));
        assertThat(Expressions.render("{% for x in steps.a.json.list %}{{ loop.index }}{% endfor %}", ctx))
                .isEqualTo("12");
        for (String attack : List.of("{{ params.ticket.getClass() }}", "{{ params.getClass().forName('java.lang.Runtime') }}",
                "{{ params.ticket.class }}", "{% include '/etc/passwd' %}")) {
            String out;
            try {
                out = Expressions.render(attack, ctx);
            } catch (Expressions.ExpressionException e) {
                continue;
            }
            assertThat(out).as(attack).doesNotContain("java.lang").doesNotContain("root:");
        }
        assertThatThrownBy(() -> Expressions.render("{% for i in range(1000) %}{% for j in range(1000) %}"
                + "{% for k in range(1000) %}x{% endfor %}{% endfor %}{% endfor %}", ctx))
                .isInstanceOf(Expressions.ExpressionException.class);
        assertThat(Expressions.truthy("False")).isFalse();
        assertThat(Expressions.truthy(Expressions.evaluate("{{ params.n > 2 }}", ctx))).isTrue();
    }

    @Test
    void theTemplateSchemaIsOneTheGrammarEngineEnforces() {
        Grammar g = Grammar.jsonSchema(TemplateReader.schema().toString());
        assertThat(g).isNotNull();
    }
}
