package org.autoglm.models.grammar;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/** The object and array keywords of JSON Schema as grammars (part of {@link JsonSchemaGrammar}). */
final class JsonObjects {

    /** Longest maxItems/minItems unrolled into states. */
    static final int MAX_COUNTED_ITEMS = 4096;
    private static final Grammar COMMA = new Grammar.Literal(",");
    private static final Grammar COLON = new Grammar.Literal(":");

    private final JsonSchemaGrammar converter;

    JsonObjects(JsonSchemaGrammar converter) {
        this.converter = converter;
    }

    /**
     * Declared properties in schema order, each optional unless required, then additional properties (keys that
     * are not declared) unless additionalProperties is false; with patternProperties, see {@link PatternProperties}.
     */
    Grammar object(JsonNode schema, String pointer) {
        JsonNode properties = schema.path("properties");
        PatternProperties patterns = PatternProperties.of(schema, pointer);
        Set<String> required = new LinkedHashSet<>();
        schema.path("required").forEach(n -> required.add(n.asText()));
        List<Grammar> items = new ArrayList<>();
        List<Boolean> isRequired = new ArrayList<>();
        List<Grammar> keys = new ArrayList<>();
        Set<String> declared = new LinkedHashSet<>();
        for (var it = properties.fields(); it.hasNext(); ) {
            var e = it.next();
            declared.add(e.getKey());
            Grammar key = new Grammar.Literal(quoted(e.getKey()));
            keys.add(key);
            String at = pointer + "/properties/" + escape(e.getKey());
            List<JsonNode> alsoMatching = patterns == null ? List.of() : patterns.schemasMatching(e.getKey());
            Grammar value;
            if (alsoMatching.isEmpty()) {
                value = converter.value(e.getValue(), at);
            } else {
                List<JsonNode> all = new ArrayList<>(List.of(e.getValue()));
                all.addAll(alsoMatching);
                value = converter.allOf(all, at);
            }
            items.add(Grammar.sequence(key, COLON, value));
            isRequired.add(required.contains(e.getKey()));
        }
        JsonNode additional = schema.get("additionalProperties");
        boolean closed = additional != null && additional.isBoolean() && !additional.asBoolean();
        for (String name : required) {
            if (!declared.contains(name)) {
                List<JsonNode> matching = patterns == null ? List.of() : patterns.schemasMatching(name);
                if (closed && matching.isEmpty()) {
                    throw GrammarException.schema("required", pointer + "/required", "names '" + name + "', which"
                            + " additionalProperties: false forbids: no object fits");
                }
                declared.add(name);
                Grammar key = new Grammar.Literal(quoted(name));
                keys.add(key);
                Grammar value = !matching.isEmpty()
                        ? converter.allOf(matching, pointer + "/required/" + escape(name))
                        : additional == null || additional.isBoolean() ? JsonValueGrammar.anyValue()
                        : converter.value(additional, pointer + "/additionalProperties");
                items.add(Grammar.sequence(key, COLON, value));
                isRequired.add(true);
            }
        }
        Integer minProperties = JsonSchemaGrammar.intOrNull(schema, "minProperties", pointer);
        if (minProperties != null && minProperties > required.size()) {
            throw GrammarException.schema("minProperties", pointer + "/minProperties", "above the number of"
                    + " required properties cannot be enforced");
        }
        Grammar additionalValue = closed ? null : additional == null || additional.isBoolean()
                ? JsonValueGrammar.anyValue() : converter.value(additional, pointer + "/additionalProperties");
        Grammar extra = null;
        if (patterns != null) {
            List<Grammar> members = patterns.undeclaredMembers(List.copyOf(declared), additionalValue, converter);
            extra = members.size() == 1 ? members.get(0) : new Grammar.Alternatives(members);
        } else if (!closed) {
            extra = Grammar.sequence(JsonStrings.undeclaredKey(declared, List.of()), COLON, additionalValue);
        }
        return Grammar.sequence(new Grammar.Literal("{"),
                new Grammar.OrderedMembers(items, isRequired, COMMA, extra), new Grammar.Literal("}"));
    }

    /** prefixItems (or draft-4 tuple items), then items (or additionalItems), within minItems..maxItems. */
    Grammar array(JsonNode schema, String pointer) {
        if (schema.path("uniqueItems").asBoolean(false)) {
            Integer max = JsonSchemaGrammar.intOrNull(schema, "maxItems", pointer);
            if (max == null || max > 1) {
                throw GrammarException.schema("uniqueItems", pointer + "/uniqueItems", "cannot be enforced by the"
                        + " grammar");
            }
        }
        List<Grammar> prefix = new ArrayList<>();
        JsonNode rest;
        String restPointer;
        JsonNode items = schema.get("items");
        if (schema.has("prefixItems")) {
            JsonNode p = schema.get("prefixItems");
            for (int i = 0; i < p.size(); i++) {
                prefix.add(converter.value(p.get(i), pointer + "/prefixItems/" + i));
            }
            rest = items;
            restPointer = pointer + "/items";
        } else if (items != null && items.isArray()) {
            for (int i = 0; i < items.size(); i++) {
                prefix.add(converter.value(items.get(i), pointer + "/items/" + i));
            }
            rest = schema.get("additionalItems");
            restPointer = pointer + "/additionalItems";
        } else {
            rest = items;
            restPointer = pointer + "/items";
        }
        Integer minItems = JsonSchemaGrammar.intOrNull(schema, "minItems", pointer);
        Integer maxItems = JsonSchemaGrammar.intOrNull(schema, "maxItems", pointer);
        int min = minItems == null ? 0 : minItems;
        int max = maxItems == null ? Integer.MAX_VALUE : maxItems;
        boolean restForbidden = rest != null && rest.isBoolean() && !rest.asBoolean();
        if (restForbidden) {
            max = Math.min(max, prefix.size());
        }
        if (min > MAX_COUNTED_ITEMS || (max != Integer.MAX_VALUE && max > MAX_COUNTED_ITEMS)) {
            throw GrammarException.schema(min > MAX_COUNTED_ITEMS ? "minItems" : "maxItems", pointer, "above "
                    + MAX_COUNTED_ITEMS + " cannot be enforced exactly");
        }
        if (min > max) {
            throw GrammarException.schema("minItems", pointer, "leaves no array length possible");
        }
        Grammar restItem = restForbidden ? null
                : rest == null || (rest.isBoolean() && rest.asBoolean()) ? JsonValueGrammar.anyValue()
                : converter.value(rest, restPointer);
        Grammar body = new Grammar.Sequence(List.of());
        if (max > 0) {
            Grammar first = Grammar.sequence(item(0, prefix, restItem), tail(1, prefix, restItem, min, max));
            body = min == 0 ? JsonValueGrammar.optional(first) : first;
        }
        return Grammar.sequence(new Grammar.Literal("["), body, new Grammar.Literal("]"));
    }

    private static Grammar item(int i, List<Grammar> prefix, Grammar rest) {
        return i < prefix.size() ? prefix.get(i) : rest;
    }

    /** Elements i.. after at least one, each led by a comma. */
    private static Grammar tail(int i, List<Grammar> prefix, Grammar rest, int min, int max) {
        if (i >= max) {
            return new Grammar.Sequence(List.of());
        }
        if (i >= prefix.size()) {
            int count = max == Integer.MAX_VALUE ? Integer.MAX_VALUE : max - i;
            return new Grammar.Repeat(Grammar.sequence(COMMA, rest), Math.max(0, min - i), count);
        }
        Grammar g = Grammar.sequence(COMMA, prefix.get(i), tail(i + 1, prefix, rest, min, max));
        return i < min ? g : JsonValueGrammar.optional(g);
    }

    static String quoted(String name) {
        try {
            return JsonSchemaGrammar.JSON.writeValueAsString(name);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    static String escape(String name) {
        return name.replace("~", "~0").replace("/", "~1");
    }
}
