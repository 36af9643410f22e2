package org.autoglm.node.workflow.draft;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.autoglm.node.api.JsonBody;
import org.autoglm.node.session.Message;

/**
 * What the model is asked and what it may answer: the draft schema (a subset of the template schema that the grammar
 * engine enforces exactly, see {@code draft-template.schema.json}) and the conversation that asks for a template.
 *
 * <p>The subset is what makes "always a valid template" hold whatever the model draws: step ids are fixed by position
 * ({@code step1}..{@code step3}), so they are unique; {@code depends_on} may only name earlier steps, so there is no
 * cycle and no unknown reference; a prompt may contain no Jinja but {@code {{ params.input }}} and the outputs of
 * earlier steps, so every expression parses and names something defined; every string and list is bounded, so the
 * answer ends well inside the token budget.
 */
final class DraftPrompt {

    /** Most tokens a draft may take; the schema's bounds keep a draft far below it. */
    static final int MAX_TOKENS = 2048;

    private static final String SCHEMA = load();

    private DraftPrompt() {}

    /** The draft schema, as JSON text (the grammar engine's input). */
    static String schema() {
        return SCHEMA;
    }

    /** The conversation: the rules and the schema, then the user's description and examples. */
    static List<Message> messages(String description, JsonNode examples) {
        StringBuilder system = new StringBuilder()
                .append("You write workflow templates for an LLM automation platform. A template is a list of llm")
                .append(" steps run in order of their depends_on; each step's prompt is sent to a language model.")
                .append(" A run has one parameter, written {{ params.input }}. A prompt may use the output of an")
                .append(" earlier step as {{ steps.stepN.output }}. 'output' forms the run's result, usually")
                .append(" {{ steps.stepN.output }} of the last step. Answer with one JSON object that matches this")
                .append(" JSON Schema:\n").append(SCHEMA);
        StringBuilder user = new StringBuilder("Write a workflow template for this task:\n").append(description);
        if (examples != null && !examples.isEmpty()) {
            user.append("\n\nExamples of what it should do:");
            for (JsonNode e : examples) {
                user.append("\n- ").append(e.isTextual() ? e.asText() : e.toString());
            }
        }
        return List.of(new Message("system", system.toString()), new Message("user", user.toString()));
    }

    private static String load() {
        try (InputStream in = DraftPrompt.class.getResourceAsStream("draft-template.schema.json")) {
            if (in == null) {
                throw new IllegalStateException("draft-template.schema.json is missing from the jar");
            }
            // compact: fewer prompt tokens, and the same text the grammar is built from
            return JsonBody.MAPPER.readTree(new String(in.readAllBytes(), StandardCharsets.UTF_8)).toString();
        } catch (IOException e) {
            throw new IllegalStateException("draft-template.schema.json does not parse: " + e.getMessage(), e);
        }
    }
}
