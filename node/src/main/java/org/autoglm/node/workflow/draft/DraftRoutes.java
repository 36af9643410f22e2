package org.autoglm.node.workflow.draft;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.Javalin;
import io.javalin.http.Context;
import java.util.Iterator;
import java.util.Set;
import java.util.function.Supplier;
import org.autoglm.node.api.Access;
import org.autoglm.node.api.ApiError;
import org.autoglm.node.api.ApiServer;
import org.autoglm.node.api.JsonBody;
import org.autoglm.node.api.ServingState;
import org.autoglm.node.security.Caller;
import org.autoglm.node.workflow.TemplateException;
import org.autoglm.node.workflow.WorkflowTemplates;

/**
 * {@code POST /v1/workflows/draft[?save=true]} with {@code {description, examples?, name?, seed?, temperature?}}: the
 * served model writes a template under the draft schema ({@link DraftPrompt}), {@link DraftRepair} makes it whole,
 * and the template validator checks it like any other; {@code save=true} stores it as the next version of its name
 * (operators and admins, who write templates). The answer: {@code {object: "workflow.draft", template, repairs,
 * saved, version?, usage}}.
 */
public final class DraftRoutes {

    private static final Set<String> FIELDS = Set.of("description", "examples", "name", "seed", "temperature");
    private static final String NAME = "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$";
    private static final int MAX_EXAMPLES = 16;
    private static final long MAX_BODY_BYTES = 64 * 1024;
    private static final double DEFAULT_TEMPERATURE = 0.7;

    private final WorkflowTemplates templates;
    private final Supplier<ServingState> state;

    public DraftRoutes(WorkflowTemplates templates, Supplier<ServingState> state) {
        this.templates = templates;
        this.state = state;
    }

    public void install(Javalin app) {
        app.post("/v1/workflows/draft", this::draft, Access.INFERENCE);
    }

    private void draft(Context ctx) throws InterruptedException {
        boolean save = save(ctx.queryParam("save"));
        Caller caller = ApiServer.caller(ctx);
        if (save && !caller.hasAny(Access.OPERATE.roles())) {
            throw ApiError.forbidden("Saving a draft writes a template, which needs the role operator (or admin); leave"
                    + " out save=true to only see the draft.");
        }
        ObjectNode body = JsonBody.readObject(ctx, MAX_BODY_BYTES);
        for (Iterator<String> it = body.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!FIELDS.contains(f)) {
                throw ApiError.invalid(f, "'" + f + "' is not a field of a draft request; it takes 'description'"
                        + " and optionally 'examples', 'name', 'seed' and 'temperature'.");
            }
        }
        JsonNode description = body.path("description");
        if (!description.isTextual() || description.asText().isBlank()) {
            throw ApiError.invalid("description", "'description' is required: a string saying what the workflow"
                    + " should do.");
        }
        JsonNode examples = body.get("examples");
        if (examples != null && !examples.isNull() && (!examples.isArray() || examples.size() > MAX_EXAMPLES)) {
            throw ApiError.invalid("examples", "'examples' must be a list of at most " + MAX_EXAMPLES + " examples"
                    + " (strings or objects).");
        }
        String name = null;
        if (body.hasNonNull("name")) {
            name = body.get("name").asText();
            if (!body.get("name").isTextual() || !name.matches(NAME)) {
                throw ApiError.invalid("name", "'name' must be 1-64 letters, digits, '_', '.' or '-', starting with a"
                        + " letter or digit.");
            }
            if (WorkflowTemplates.RESERVED_NAMES.contains(name)) {
                throw ApiError.invalid("name", "The name '" + name + "' is reserved (GET /v1/workflows/" + name
                        + " is another route); choose another name.");
            }
        }
        Long seed = null;
        if (body.hasNonNull("seed")) {
            if (!body.get("seed").canConvertToLong() || !body.get("seed").isIntegralNumber()) {
                throw ApiError.invalid("seed", "'seed' must be an integer.");
            }
            seed = body.get("seed").asLong();
        }
        double temperature = DEFAULT_TEMPERATURE;
        if (body.hasNonNull("temperature")) {
            temperature = body.get("temperature").asDouble(-1);
            if (!body.get("temperature").isNumber() || temperature < 0 || temperature > 2) {
                throw ApiError.invalid("temperature", "'temperature' must be a number from 0 to 2.");
            }
        }

        TemplateDrafter.Answer answer = TemplateDrafter.draft(state.get().require(), description.asText(),
                examples, temperature, seed, caller.subject());
        DraftRepair.Repaired repaired = DraftRepair.repair(answer.json(), description.asText(), name);
        try {
            templates.check(repaired.template());
        } catch (TemplateException e) {
            // the draft schema and the repair exist so that this cannot happen: a failure here is our bug
            throw ApiError.server("The draft failed validation at '" + e.pointer() + "': " + e.getMessage()
                    + " (the draft was " + repaired.template() + ")");
        }
        ObjectNode out = JsonBody.MAPPER.createObjectNode();
        out.put("object", "workflow.draft");
        out.set("template", repaired.template());
        out.set("repairs", JsonBody.MAPPER.valueToTree(repaired.repairs()));
        out.put("saved", save);
        if (save) {
            templates.create(repaired.template().deepCopy(), caller.subject());
            String saved = repaired.template().get("name").asText();
            templates.list().stream().filter(w -> w.name().equals(saved)).findFirst()
                    .ifPresent(w -> out.put("version", w.latest()));
        }
        out.putObject("usage").put("prompt_tokens", answer.promptTokens())
                .put("completion_tokens", answer.completionTokens())
                .put("total_tokens", answer.promptTokens() + answer.completionTokens());
        ctx.status(save ? 201 : 200).json(out);
    }

    private static boolean save(String raw) {
        if (raw == null || raw.equals("false")) {
            return false;
        }
        if (raw.equals("true")) {
            return true;
        }
        throw ApiError.invalid("save", "'save' must be true or false, got '" + raw + "'.");
    }
}
