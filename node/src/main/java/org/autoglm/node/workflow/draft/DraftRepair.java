package org.autoglm.node.workflow.draft;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.autoglm.node.api.JsonBody;
import org.autoglm.node.workflow.WorkflowTemplates;

/**
 * Turns what the model wrote under the draft schema into a template that validation accepts, and says what it
 * changed. The grammar already rules out cycles, unknown steps and unparsable expressions; what is left is what a
 * schema cannot say:
 * <ul>
 *   <li>a prompt that uses {@code {{ steps.stepN.output }}} must depend on stepN: the step is added to depends_on;
 *   <li>{@code output} may name a step the model did not write (the schema allows step1..step3 there): such a
 *       reference becomes one to the last step;
 *   <li>outside {@code {{ }}} the words {@code params}, {@code steps} and {@code item} read as references to
 *       validation, so in free text they are capitalised;
 *   <li>the template gets the request's description, and its one parameter {@code input} (a string).
 * </ul>
 */
final class DraftRepair {

    /** What validation reads as a reference, wherever it stands. */
    private static final Pattern REFERENCE_WORD = Pattern.compile("\\b(params|steps|item)\\b");
    private static final Pattern EXPRESSION = Pattern.compile("\\{\\{.*?}}");
    private static final Pattern STEP_OUTPUT = Pattern.compile("\\{\\{ steps\\.(step\\d+)\\.output }}");
    private static final int MAX_DESCRIPTION = 4000;

    /** The template, and one line per change made to the model's answer. */
    record Repaired(ObjectNode template, List<String> repairs) {}

    private DraftRepair() {}

    /**
     * @param answer      the model's JSON, which matched the draft schema
     * @param description the request's description (the template's, cut to 4,000 characters)
     * @param name        the name the caller asked for, or null to keep the model's
     */
    static Repaired repair(ObjectNode answer, String description, String name) {
        List<String> repairs = new ArrayList<>();
        ObjectNode t = JsonBody.MAPPER.createObjectNode();
        String modelName = answer.path("name").asText();
        if (name == null && WorkflowTemplates.RESERVED_NAMES.contains(modelName)) {
            repairs.add("the name '" + modelName + "' is reserved: now '" + modelName + "-draft'");
            modelName += "-draft";
        }
        t.put("name", name != null ? name : modelName);
        t.put("description", description.length() > MAX_DESCRIPTION ? description.substring(0, MAX_DESCRIPTION)
                : description);
        ObjectNode params = t.putObject("params");
        params.put("type", "object");
        params.putObject("properties").putObject("input").put("type", "string")
                .put("description", "What the workflow works on.");
        params.putArray("required").add("input");

        ArrayNode steps = t.putArray("steps");
        List<String> ids = new ArrayList<>();
        for (JsonNode written : answer.path("steps")) {
            ObjectNode step = ((ObjectNode) written).deepCopy();
            String id = step.path("id").asText();
            String prompt = freeText(step.path("prompt").asText(), "steps/" + id + "/prompt", repairs);
            step.put("prompt", prompt);
            Set<String> dependsOn = new LinkedHashSet<>();
            step.path("depends_on").forEach(d -> dependsOn.add(d.asText()));
            Matcher m = STEP_OUTPUT.matcher(prompt);
            while (m.find()) {
                if (dependsOn.add(m.group(1))) {
                    repairs.add(id + " uses the output of " + m.group(1) + ": added it to depends_on");
                }
            }
            if (!dependsOn.isEmpty() || step.has("depends_on")) {
                ArrayNode d = step.putArray("depends_on");
                dependsOn.forEach(d::add);
            }
            steps.add(step);
            ids.add(id);
        }
        String output = freeText(answer.path("output").asText(), "output", repairs);
        String last = ids.get(ids.size() - 1);
        Matcher m = STEP_OUTPUT.matcher(output);
        StringBuilder fixed = new StringBuilder();
        while (m.find()) {
            String ref = ids.contains(m.group(1)) ? m.group() : "{{ steps." + last + ".output }}";
            if (!ids.contains(m.group(1))) {
                repairs.add("output used " + m.group(1) + ", which the draft does not have: now " + last);
            }
            m.appendReplacement(fixed, Matcher.quoteReplacement(ref));
        }
        m.appendTail(fixed);
        t.put("output", fixed.toString());
        return new Repaired(t, repairs);
    }

    /** {@code text} with the reference words of its free text (outside {@code {{ }}}) capitalised. */
    private static String freeText(String text, String where, List<String> repairs) {
        StringBuilder out = new StringBuilder();
        Matcher expressions = EXPRESSION.matcher(text);
        int at = 0;
        boolean changed = false;
        while (true) {
            boolean found = expressions.find();
            String free = text.substring(at, found ? expressions.start() : text.length());
            String capitalised = REFERENCE_WORD.matcher(free).replaceAll(r ->
                    Character.toUpperCase(r.group().charAt(0)) + r.group().substring(1));
            changed |= !capitalised.equals(free);
            out.append(capitalised);
            if (!found) {
                break;
            }
            out.append(expressions.group());
            at = expressions.end();
        }
        if (changed) {
            repairs.add(where + ": capitalised 'params', 'steps' or 'item' in free text, which would read as a"
                    + " reference");
        }
        return out.toString();
    }
}
