package org.autoglm.models.grammar;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Folds {@code allOf} (and a {@code $ref} with sibling keywords) into one schema where that is exact: properties
 * merge, bounds tighten, types intersect; anything that would change the meaning (two different patterns, an
 * additionalProperties that the other branches would break) is refused. Also proves {@code oneOf} branches
 * disjoint, which is what lets a union enforce "exactly one".
 */
final class SchemaMerger {

    private static final Set<String> CONSTRAINTS = Set.of("type", "enum", "const", "properties", "required",
            "additionalProperties", "items", "prefixItems", "additionalItems", "minItems", "maxItems", "minLength",
            "maxLength", "pattern", "format", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "anyOf",
            "oneOf", "allOf", "$ref", "nullable", "uniqueItems", "minProperties", "not", "if", "then", "else",
            "dependencies", "dependentRequired", "dependentSchemas", "propertyNames", "contains", "minContains",
            "maxContains", "unevaluatedProperties", "unevaluatedItems", "multipleOf", "maxProperties",
            "patternProperties", "$dynamicRef", "$recursiveRef", "contentSchema");
    private static final Set<String> LOWER_BOUNDS = Set.of("minItems", "minLength", "minimum", "minProperties");
    private static final Set<String> UPPER_BOUNDS = Set.of("maxItems", "maxLength", "maximum");

    private final JsonSchemaGrammar converter;
    private final String pointer;

    SchemaMerger(JsonSchemaGrammar converter, String pointer) {
        this.converter = converter;
        this.pointer = pointer;
    }

    static boolean isConstraint(String key) {
        return CONSTRAINTS.contains(key);
    }

    /** True when no key but {@code except} constrains values. */
    static boolean onlyAnnotations(JsonNode schema, String except) {
        for (var it = schema.fieldNames(); it.hasNext(); ) {
            String key = it.next();
            if (!key.equals(except) && isConstraint(key)) {
                return false;
            }
        }
        return true;
    }

    /** One schema equal to {@code schema} with its allOf branches and $ref folded in. */
    ObjectNode mergeAll(JsonNode schema) {
        List<JsonNode> parts = new ArrayList<>();
        flatten(schema, parts, 0);
        refusePatternsBesideOthersAdditional(parts);
        ObjectNode out = JsonSchemaGrammar.JSON.createObjectNode();
        for (JsonNode part : parts) {
            mergeInto(out, part);
        }
        checkAdditionalProperties(parts, out);
        return out;
    }

    /**
     * One branch's patternProperties beside another's additionalProperties: the latter would forbid (or constrain)
     * the keys the patterns allow, which one merged object schema cannot say.
     */
    private void refusePatternsBesideOthersAdditional(List<JsonNode> parts) {
        for (JsonNode part : parts) {
            if (part.path("patternProperties").isEmpty()) {
                continue;
            }
            for (JsonNode other : parts) {
                JsonNode ap = other.get("additionalProperties");
                if (other != part && ap != null && !(ap.isBoolean() && ap.asBoolean())) {
                    throw GrammarException.schema("patternProperties", pointer, "in one allOf branch beside"
                            + " additionalProperties in another cannot be merged exactly");
                }
            }
        }
    }

    private void flatten(JsonNode schema, List<JsonNode> parts, int depth) {
        if (depth > 32) {
            throw GrammarException.schema("allOf", pointer, "nests references more than 32 deep (recursive allOf?)");
        }
        if (schema.isBoolean()) {
            if (!schema.asBoolean()) {
                parts.add(JsonSchemaGrammar.JSON.createObjectNode().set("enum",
                        JsonSchemaGrammar.JSON.createArrayNode()));
            }
            return;
        }
        ObjectNode own = ((ObjectNode) schema).deepCopy();
        own.remove("allOf");
        own.remove("$ref");
        parts.add(own);
        if (schema.has("$ref")) {
            flatten(converter.resolve(schema.get("$ref").asText(), pointer), parts, depth + 1);
        }
        if (schema.has("allOf")) {
            JsonNode all = schema.get("allOf");
            if (!all.isArray()) {
                throw GrammarException.schema("allOf", pointer, "must be an array");
            }
            for (JsonNode branch : all) {
                flatten(branch, parts, depth + 1);
            }
        }
    }

    private void mergeInto(ObjectNode out, JsonNode part) {
        for (var it = part.fields(); it.hasNext(); ) {
            var e = it.next();
            String key = e.getKey();
            JsonNode value = e.getValue();
            JsonNode old = out.get(key);
            if (!isConstraint(key) || old == null) {
                if (isConstraint(key) || old == null) {
                    out.set(key, value.deepCopy());
                }
                continue;
            }
            if (old.equals(value)) {
                continue;
            }
            switch (key) {
                case "properties" -> {
                    ObjectNode props = ((ObjectNode) old).deepCopy();
                    for (var p = value.fields(); p.hasNext(); ) {
                        var pe = p.next();
                        JsonNode existing = props.get(pe.getKey());
                        props.set(pe.getKey(), existing == null ? pe.getValue() : allOf(existing, pe.getValue()));
                    }
                    out.set(key, props);
                }
                case "required" -> {
                    Set<String> all = new LinkedHashSet<>();
                    old.forEach(n -> all.add(n.asText()));
                    value.forEach(n -> all.add(n.asText()));
                    ArrayNode arr = JsonSchemaGrammar.JSON.createArrayNode();
                    all.forEach(arr::add);
                    out.set(key, arr);
                }
                case "type" -> out.set(key, intersectTypes(old, value));
                case "items", "additionalProperties" -> {
                    if (old.isArray() || value.isArray()) {
                        throw refuse(key);
                    }
                    out.set(key, allOf(old, value));
                }
                case "enum" -> {
                    ArrayNode kept = JsonSchemaGrammar.JSON.createArrayNode();
                    for (JsonNode v : old) {
                        for (JsonNode w : value) {
                            if (v.equals(w)) {
                                kept.add(v);
                                break;
                            }
                        }
                    }
                    out.set(key, kept);
                }
                default -> {
                    if (LOWER_BOUNDS.contains(key) && old.isNumber() && value.isNumber()) {
                        out.set(key, old.decimalValue().compareTo(value.decimalValue()) >= 0 ? old : value);
                    } else if (UPPER_BOUNDS.contains(key) && old.isNumber() && value.isNumber()) {
                        out.set(key, old.decimalValue().compareTo(value.decimalValue()) <= 0 ? old : value);
                    } else {
                        throw refuse(key);
                    }
                }
            }
        }
    }

    private GrammarException refuse(String key) {
        return GrammarException.schema("allOf", pointer, "cannot be merged: its branches give different '" + key
                + "'");
    }

    private static JsonNode allOf(JsonNode a, JsonNode b) {
        ObjectNode both = JsonSchemaGrammar.JSON.createObjectNode();
        both.set("allOf", JsonSchemaGrammar.JSON.createArrayNode().add(a.deepCopy()).add(b.deepCopy()));
        return both;
    }

    private JsonNode intersectTypes(JsonNode a, JsonNode b) {
        List<String> left = JsonSchemaGrammar.allowedTypes(typeOnly(a), pointer);
        List<String> right = JsonSchemaGrammar.allowedTypes(typeOnly(b), pointer);
        ArrayNode out = JsonSchemaGrammar.JSON.createArrayNode();
        for (String t : left) {
            if (right.contains(t)) {
                out.add(t);
            } else if (t.equals("number") && right.contains("integer")) {
                out.add("integer");
            } else if (t.equals("integer") && right.contains("number")) {
                out.add("integer");
            }
        }
        if (out.isEmpty()) {
            throw GrammarException.schema("allOf", pointer, "has branches whose types exclude each other");
        }
        return out;
    }

    private static JsonNode typeOnly(JsonNode type) {
        return JsonSchemaGrammar.JSON.createObjectNode().set("type", type);
    }

    /** A part whose additionalProperties is not true only allows its own properties; the merge must keep that. */
    private void checkAdditionalProperties(List<JsonNode> parts, ObjectNode merged) {
        JsonNode props = merged.path("properties");
        for (JsonNode part : parts) {
            JsonNode ap = part.get("additionalProperties");
            if (ap == null || (ap.isBoolean() && ap.asBoolean())) {
                continue;
            }
            for (var it = props.fieldNames(); it.hasNext(); ) {
                String name = it.next();
                if (!part.path("properties").has(name)) {
                    throw GrammarException.schema("additionalProperties", pointer, "in one allOf branch would"
                            + " reject property '" + name + "' that another branch declares: cannot be merged");
                }
            }
            for (JsonNode r : merged.path("required")) {
                if (!part.path("properties").has(r.asText())) {
                    throw GrammarException.schema("additionalProperties", pointer, "in one allOf branch would"
                            + " reject required property '" + r.asText() + "'");
                }
            }
        }
    }

    /** Refuses a oneOf whose branches we cannot show to be mutually exclusive. */
    void requireDisjoint(List<JsonNode> branches, String at) {
        List<JsonNode> resolved = new ArrayList<>();
        for (JsonNode b : branches) {
            resolved.add(b.isObject() && (b.has("$ref") || b.has("allOf")) ? mergeAll(b) : b);
        }
        for (int i = 0; i < resolved.size(); i++) {
            for (int j = i + 1; j < resolved.size(); j++) {
                if (!disjoint(resolved.get(i), resolved.get(j))) {
                    throw GrammarException.schema("oneOf", at, "branches " + i + " and " + j + " may both match the"
                            + " same value, so 'exactly one' cannot be enforced (use anyOf if either may match)");
                }
            }
        }
    }

    private boolean disjoint(JsonNode a, JsonNode b) {
        if (!a.isObject() || !b.isObject()) {
            return false;
        }
        Set<String> ta = types(a);
        Set<String> tb = types(b);
        Set<String> common = new LinkedHashSet<>(ta);
        common.retainAll(tb);
        if (common.isEmpty()) {
            return true;
        }
        Set<String> va = literalTexts(a);
        Set<String> vb = literalTexts(b);
        if (va != null && vb != null) {
            return va.stream().noneMatch(vb::contains);
        }
        if (common.equals(Set.of("object"))) {
            for (JsonNode r : a.path("required")) {
                String name = r.asText();
                if (!containsText(b.path("required"), name)) {
                    continue;
                }
                Set<String> pa = literalTexts(a.path("properties").path(name));
                Set<String> pb = literalTexts(b.path("properties").path(name));
                if (pa != null && pb != null && pa.stream().noneMatch(pb::contains)) {
                    return true;
                }
            }
            return requiresUnknown(a, b) || requiresUnknown(b, a);
        }
        return false;
    }

    /** {@code a} requires a property that {@code b} forbids (additionalProperties false and not declared). */
    private static boolean requiresUnknown(JsonNode a, JsonNode b) {
        if (!b.path("additionalProperties").isBoolean() || b.path("additionalProperties").asBoolean()) {
            return false;
        }
        for (JsonNode r : a.path("required")) {
            if (!b.path("properties").has(r.asText())) {
                return true;
            }
        }
        return false;
    }

    private static boolean containsText(JsonNode array, String text) {
        for (JsonNode n : array) {
            if (n.asText().equals(text)) {
                return true;
            }
        }
        return false;
    }

    private Set<String> types(JsonNode s) {
        Set<String> lits = literalTexts(s);
        Set<String> out = new LinkedHashSet<>();
        if (lits != null) {
            List<JsonNode> values = new ArrayList<>();
            s.path("enum").forEach(values::add);
            if (s.has("const")) {
                values.add(s.get("const"));
            }
            for (JsonNode v : values) {
                String t = JsonSchemaGrammar.typeOf(v);
                out.add(t.equals("integer") ? "number" : t);
            }
            return out;
        }
        if (s.has("anyOf") || s.has("oneOf")) {
            return new LinkedHashSet<>(List.of("null", "boolean", "object", "array", "string", "number"));
        }
        for (String t : JsonSchemaGrammar.allowedTypes(s, pointer)) {
            out.add(t.equals("integer") ? "number" : t);
        }
        return out;
    }

    private static Set<String> literalTexts(JsonNode s) {
        if (!s.isObject() || !(s.has("enum") || s.has("const"))) {
            return null;
        }
        Set<String> out = new LinkedHashSet<>();
        if (s.has("const")) {
            out.add(s.get("const").toString());
        } else {
            s.get("enum").forEach(v -> out.add(v.toString()));
        }
        return out;
    }
}
