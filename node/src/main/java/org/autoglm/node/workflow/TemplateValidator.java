package org.autoglm.node.workflow;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BiConsumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.autoglm.models.grammar.GrammarException;
import org.autoglm.models.structured.OutputConstraint;
import org.autoglm.node.api.BatchLines;
import org.autoglm.node.api.ServedModel;
import org.autoglm.node.workflow.WorkflowTemplate.Kind;
import org.autoglm.node.workflow.WorkflowTemplate.Step;

/**
 * What the template schema cannot say: step ids are unique, {@code depends_on} names steps and has no cycle, each
 * kind has its fields and only those, expressions parse and refer only to declared params and to steps the step
 * depends on, and a {@code response_format} is one the grammar engine can enforce. Each problem is reported with
 * the JSON pointer of the offending value.
 */
final class TemplateValidator {

    /** Chat-completion fields an llm step may carry besides its prompt or messages. */
    static final Set<String> CHAT_FIELDS = Set.of("model", "max_tokens", "temperature", "top_p", "top_k", "seed", "stop",
            "presence_penalty", "frequency_penalty", "response_format");
    private static final Set<String> COMMON = Set.of("id", "kind", "depends_on", "when", "for_each", "retry", "timeout_s",
            "priority", "required_tags", "continue_on_error");
    private static final Set<String> LLM = union(CHAT_FIELDS, Set.of("prompt", "messages"));
    private static final Set<String> HTTP = Set.of("url", "method", "body", "headers");
    private static final Set<String> TRANSFORM = Set.of("expression");
    private static final Pattern PARAM_REF = Pattern.compile(
            "\\bparams\\s*(?:\\.\\s*([A-Za-z_][A-Za-z0-9_]*)|\\[\\s*['\"]([^'\"]+)['\"]\\s*])");
    private static final Pattern STEP_REF = Pattern.compile(
            "\\bsteps\\s*(?:\\.\\s*([A-Za-z_][A-Za-z0-9_]*)|\\[\\s*['\"]([^'\"]+)['\"]\\s*])");
    private static final Pattern ITEM_REF = Pattern.compile("\\bitem\\b");
    private static final Pattern JINJA_TAG = Pattern.compile("\\{\\{(.*?)}}|\\{%(.*?)%}", Pattern.DOTALL);

    private TemplateValidator() {}

    /** Checks {@code t}; {@code model}, when loaded, also checks each llm step's chat fields as the chat route would. */
    static void validate(WorkflowTemplate t, ServedModel model) {
        if (WorkflowTemplates.RESERVED_NAMES.contains(t.name())) {
            throw new TemplateException("/name", "The name '" + t.name() + "' is reserved: GET /v1/workflows/"
                    + t.name() + " is another route; choose another name.");
        }
        Map<String, Step> byId = new HashMap<>();
        for (Step s : t.steps()) {
            if (byId.putIfAbsent(s.id(), s) != null) {
                throw new TemplateException(s.pointer() + "/id", "Step id '" + s.id() + "' is used by an earlier step;"
                        + " each step needs its own id.");
            }
        }
        for (Step s : t.steps()) {
            checkFields(s);
            for (int j = 0; j < s.dependsOn().size(); j++) {
                String dep = s.dependsOn().get(j);
                if (!byId.containsKey(dep)) {
                    throw new TemplateException(s.pointer() + "/depends_on/" + j, "Step '" + s.id() + "' depends on '"
                            + dep + "', which is not a step of this template (steps: " + byId.keySet().stream().sorted()
                            .toList() + ").");
                }
            }
            if (s.retry().initialMs() > s.retry().maxMs()) {
                throw new TemplateException(s.pointer() + "/retry/initial_ms", "'initial_ms' (" + s.retry().initialMs()
                        + ") must not exceed 'max_ms' (" + s.retry().maxMs() + ").");
            }
        }
        checkCycles(t, byId);
        Set<String> params = declaredParams(t);
        if (t.params() != null) {
            TemplateReader.compileUserSchema(t.params(), "/params");
        }
        Map<String, Object> standIns = standIns(t, params);
        for (Step s : t.steps()) {
            Set<String> upstream = upstream(s, byId);
            eachExpression(s, (pointer, text) -> checkExpression(pointer, text, params, upstream,
                    s.forEach() != null && !pointer.endsWith("/for_each"), standIns));
            checkResponseFormat(s);
            if (model != null && s.kind() == Kind.LLM) {
                checkChatFields(s, model);
            }
        }
        if (t.output() != null) {
            checkExpression("/output", t.output(), params, byId.keySet(), false, standIns);
        }
    }

    private static void checkFields(Step s) {
        Set<String> allowed = union(COMMON, switch (s.kind()) {
            case LLM -> LLM;
            case HTTP -> HTTP;
            case TRANSFORM -> TRANSFORM;
        });
        for (Iterator<String> it = s.json().fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!allowed.contains(f)) {
                throw new TemplateException(s.pointer() + "/" + f, "'" + f + "' does not apply to a " + s.kind().wire()
                        + " step; it takes " + union(allowed, Set.of()).stream().sorted().toList() + ".");
            }
        }
        switch (s.kind()) {
            case LLM -> {
                if (s.json().has("prompt") == s.json().has("messages")) {
                    throw new TemplateException(s.pointer(), "An llm step needs 'prompt' or 'messages' (one of them).");
                }
            }
            case HTTP -> {
                if (!s.json().has("url")) {
                    throw new TemplateException(s.pointer(), "An http step needs a 'url'.");
                }
                if ("GET".equals(s.json().path("method").asText("POST")) && s.json().has("body")) {
                    throw new TemplateException(s.pointer() + "/body", "A GET request has no body; use \"method\":"
                            + " \"POST\" or leave out 'body'.");
                }
            }
            case TRANSFORM -> {
                if (!s.json().has("expression")) {
                    throw new TemplateException(s.pointer(), "A transform step needs an 'expression'.");
                }
            }
        }
    }

    /** Depth-first search; the first back edge found is reported at the {@code depends_on} entry that closes it. */
    private static void checkCycles(WorkflowTemplate t, Map<String, Step> byId) {
        Map<String, Integer> state = new HashMap<>(); // 1: on the path, 2: done
        for (Step s : t.steps()) {
            visit(s, byId, state, new ArrayList<>());
        }
    }

    private static void visit(Step s, Map<String, Step> byId, Map<String, Integer> state, List<String> path) {
        Integer st = state.get(s.id());
        if (st != null && st == 2) {
            return;
        }
        state.put(s.id(), 1);
        path.add(s.id());
        for (int j = 0; j < s.dependsOn().size(); j++) {
            String dep = s.dependsOn().get(j);
            if (Integer.valueOf(1).equals(state.get(dep))) {
                List<String> cycle = new ArrayList<>(path.subList(path.indexOf(dep), path.size()));
                cycle.add(dep);
                throw new TemplateException(s.pointer() + "/depends_on/" + j, "The steps depend on each other in a"
                        + " cycle: " + String.join(" -> ", cycle) + "; a workflow must be a DAG.");
            }
            visit(byId.get(dep), byId, state, path);
        }
        path.remove(path.size() - 1);
        state.put(s.id(), 2);
    }

    /** The steps {@code s} depends on, directly or through others. */
    static Set<String> upstream(Step s, Map<String, Step> byId) {
        Set<String> out = new HashSet<>();
        List<String> todo = new ArrayList<>(s.dependsOn());
        while (!todo.isEmpty()) {
            String id = todo.remove(todo.size() - 1);
            if (out.add(id)) {
                todo.addAll(byId.get(id).dependsOn());
            }
        }
        return out;
    }

    /** Every templated string of a step, with its pointer. */
    static void eachExpression(Step s, BiConsumer<String, String> visit) {
        ObjectNode j = s.json();
        String p = s.pointer();
        for (String f : List.of("prompt", "url", "expression", "when", "for_each")) {
            if (j.hasNonNull(f)) {
                visit.accept(p + "/" + f, j.get(f).asText());
            }
        }
        JsonNode messages = j.path("messages");
        for (int i = 0; i < messages.size(); i++) {
            visit.accept(p + "/messages/" + i + "/content", messages.get(i).path("content").asText());
        }
        j.path("headers").fields().forEachRemaining(e -> visit.accept(p + "/headers/" + escape(e.getKey()),
                e.getValue().asText()));
        if (j.has("body")) {
            strings(j.get("body"), p + "/body", visit);
        }
    }

    private static void strings(JsonNode n, String pointer, BiConsumer<String, String> visit) {
        if (n.isTextual()) {
            visit.accept(pointer, n.textValue());
        } else if (n.isArray()) {
            for (int i = 0; i < n.size(); i++) {
                strings(n.get(i), pointer + "/" + i, visit);
            }
        } else if (n.isObject()) {
            n.fields().forEachRemaining(e -> strings(e.getValue(), pointer + "/" + escape(e.getKey()), visit));
        }
    }

    private static String escape(String key) {
        return key.replace("~", "~0").replace("/", "~1");
    }

    private static void checkExpression(String pointer, String text, Set<String> params, Set<String> steps,
                                        boolean itemAllowed, Map<String, Object> standIns) {
        String template = pointer.endsWith("/when") ? Expressions.asTemplate(text) : text;
        try {
            Expressions.check(template, itemAllowed ? withItem(standIns) : standIns);
        } catch (Expressions.ExpressionException e) {
            throw new TemplateException(pointer, "The expression at '" + pointer + "' does not parse: "
                    + e.getMessage());
        }
        // Names are looked for in the Jinja code only: "summarise each item" in a prompt's plain text is prose.
        String code = pointer.endsWith("/when") ? text : jinjaCode(text);
        Matcher m = PARAM_REF.matcher(code);
        while (m.find()) {
            String name = m.group(1) != null ? m.group(1) : m.group(2);
            if (!params.contains(name)) {
                throw new TemplateException(pointer, "The expression at '" + pointer + "' uses params." + name
                        + ", which 'params' does not define" + (params.isEmpty() ? " (it defines none)"
                        : " (it defines " + params.stream().sorted().toList() + ")") + "; add it to params.properties.");
            }
        }
        m = STEP_REF.matcher(code);
        while (m.find()) {
            String id = m.group(1) != null ? m.group(1) : m.group(2);
            if (!steps.contains(id)) {
                throw new TemplateException(pointer, "The expression at '" + pointer + "' uses steps." + id
                        + ", which is not a step it depends on" + (steps.isEmpty() ? "" : " (it may use "
                        + steps.stream().sorted().toList() + ")") + "; add '" + id + "' to depends_on.");
            }
        }
        if (!itemAllowed && !pointer.endsWith("/for_each") && ITEM_REF.matcher(code).find()
                && !code.matches("(?s).*\\bfor\\s+item\\b.*")) {
            throw new TemplateException(pointer, "The expression at '" + pointer + "' uses 'item', which exists only"
                    + " in a step with 'for_each'.");
        }
    }

    /** The insides of a template's {@code {{ }}} and {@code {% %}} tags, one per line. */
    static String jinjaCode(String text) {
        StringBuilder code = new StringBuilder();
        Matcher m = JINJA_TAG.matcher(text);
        while (m.find()) {
            code.append(m.group(1) != null ? m.group(1) : m.group(2)).append('\n');
        }
        return code.toString();
    }

    private static Set<String> declaredParams(WorkflowTemplate t) {
        Set<String> out = new HashSet<>();
        if (t.params() != null) {
            t.params().path("properties").fieldNames().forEachRemaining(out::add);
        }
        return out;
    }

    /** Data of the right shape for a parse check: every param and step exists. */
    private static Map<String, Object> standIns(WorkflowTemplate t, Set<String> params) {
        Map<String, Object> p = new LinkedHashMap<>();
        // A stand-in of the declared type, so that {{ params.n * 2 }} on an integer parses as it will run.
        params.forEach(name -> p.put(name, standIn(t.params().path("properties").path(name).path("type").asText())));
        Map<String, Object> steps = new LinkedHashMap<>();
        for (Step s : t.steps()) {
            steps.put(s.id(), Map.of("output", "x", "json", Map.of(), "status", "succeeded"));
        }
        return Map.of("params", p, "steps", steps);
    }

    private static Object standIn(String type) {
        return switch (type) {
            case "integer" -> 1;
            case "number" -> 1.5;
            case "boolean" -> true;
            case "array" -> List.of("x");
            case "object" -> Map.of();
            default -> "x";
        };
    }

    private static Map<String, Object> withItem(Map<String, Object> standIns) {
        Map<String, Object> out = new HashMap<>(standIns);
        out.put("item", "x");
        out.put("item_index", 0);
        return out;
    }

    private static void checkResponseFormat(Step s) {
        JsonNode schema = s.json().path("response_format").path("json_schema").get("schema");
        if (schema == null || schema.isNull()) {
            return;
        }
        String pointer = s.pointer() + "/response_format/json_schema/schema";
        try {
            OutputConstraint.of(OutputConstraint.Kind.JSON_SCHEMA, schema.toString()).grammar();
        } catch (GrammarException e) {
            String inner = e.pointer() == null ? "" : e.pointer();
            throw new TemplateException(pointer + inner, "The response_format schema cannot be enforced: "
                    + e.getMessage());
        } catch (IllegalArgumentException e) {
            throw new TemplateException(pointer, "The response_format schema is invalid: " + e.getMessage());
        }
    }

    /** The step's chat fields as the chat route would take them (with stand-in text for the messages). */
    private static void checkChatFields(Step s, ServedModel model) {
        ObjectNode body = LlmStepRequest.chatBody(s, List.of(Map.of("role", "user", "content", "x")));
        ObjectNode line = org.autoglm.node.api.JsonBody.MAPPER.createObjectNode();
        line.put("custom_id", s.id()).put("method", "POST").put("url", "/v1/chat/completions").set("body", body);
        try {
            BatchLines.parse(line.toString(), 1, "/v1/chat/completions", model);
        } catch (BatchLines.BadLine e) {
            String param = e.param() == null ? "" : e.param().replaceFirst("^body\\.?", "");
            String field = param.isEmpty() ? "" : "/" + param.replace('.', '/');
            String message = e.getMessage().replaceFirst("^Line 1: ", "");
            throw new TemplateException(s.pointer() + field, "Step '" + s.id() + "': " + message);
        }
    }

    private static Set<String> union(Set<String> a, Set<String> b) {
        Set<String> out = new HashSet<>(a);
        out.addAll(b);
        return out;
    }
}
