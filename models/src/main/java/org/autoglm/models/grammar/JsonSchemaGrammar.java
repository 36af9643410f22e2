package org.autoglm.models.grammar;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * JSON Schema (drafts 4 to 2020-12) to a grammar of compact JSON text. Each subschema becomes a named rule keyed
 * by its JSON pointer, so {@code $ref} (recursive ones included) is a rule reference. Objects are written with their
 * declared properties in schema order (optional ones may be left out), then any additional properties. Keywords
 * that constrain values but cannot be enforced exactly are refused with their keyword and pointer.
 */
final class JsonSchemaGrammar {

    static final ObjectMapper JSON = new ObjectMapper();

    /** Validation keywords we cannot enforce with a grammar; anything else unknown is an annotation. */
    private static final Set<String> UNSUPPORTED = Set.of("not", "if", "then", "else", "dependencies",
            "dependentRequired", "dependentSchemas", "propertyNames", "contains", "minContains", "maxContains",
            "unevaluatedProperties", "unevaluatedItems", "multipleOf", "maxProperties",
            "$dynamicRef", "$recursiveRef", "contentSchema");
    static final List<String> TYPES = List.of("null", "boolean", "object", "array", "string", "number", "integer");

    private final JsonNode document;
    private final Map<String, Grammar> rules = new LinkedHashMap<>();

    private JsonSchemaGrammar(JsonNode document) {
        this.document = document;
    }

    static Grammar fromSchema(String schemaJson) {
        JsonNode doc;
        try {
            doc = JSON.readTree(schemaJson);
        } catch (JsonProcessingException e) {
            throw new GrammarException("the schema is not valid JSON: " + e.getOriginalMessage(), null, "");
        }
        if (doc == null || !(doc.isObject() || doc.isBoolean())) {
            throw new GrammarException("a JSON Schema must be an object or a boolean", null, "");
        }
        JsonSchemaGrammar converter = new JsonSchemaGrammar(doc);
        String root = converter.ruleFor(doc, "");
        return new Grammar.Rules(root, converter.rules);
    }

    /** A rule reference for the subschema at {@code pointer}, converting it the first time. */
    private Grammar ref(JsonNode schema, String pointer) {
        return new Grammar.RuleRef(ruleFor(schema, pointer));
    }

    private String ruleFor(JsonNode schema, String pointer) {
        String name = "#" + pointer;
        if (!rules.containsKey(name)) {
            rules.put(name, new Grammar.Alternatives(List.of()));   // placeholder: recursion sees the name
            rules.put(name, convert(schema, pointer));
        }
        return name;
    }

    JsonNode resolve(String ref, String pointer) {
        if (!ref.equals("#") && !ref.startsWith("#/")) {
            throw GrammarException.schema("$ref", pointer, "'" + ref + "' points outside this schema"
                    + " (only local references #/... are supported)");
        }
        String path = java.net.URLDecoder.decode(ref.substring(1).replace("+", "%2B"),
                java.nio.charset.StandardCharsets.UTF_8);
        JsonNode target = path.isEmpty() ? document : document.at(path);
        if (target == null || target.isMissingNode()) {
            throw GrammarException.schema("$ref", pointer, "'" + ref + "' does not resolve inside the schema");
        }
        return target;
    }

    Grammar convert(JsonNode schema, String pointer) {
        try {
            return convertDirectly(schema, pointer);
        } catch (GrammarException e) {
            Grammar values = FiniteValues.of(schema, document);
            if (values == null) {
                throw e;
            }
            return values;
        }
    }

    private Grammar convertDirectly(JsonNode schema, String pointer) {
        if (schema.isBoolean()) {
            return schema.asBoolean() ? JsonValueGrammar.anyValue() : new Grammar.Alternatives(List.of());
        }
        if (!schema.isObject()) {
            throw new GrammarException("the subschema at '" + pointer + "' is not an object", null, pointer);
        }
        for (var it = schema.fieldNames(); it.hasNext(); ) {
            String key = it.next();
            if (UNSUPPORTED.contains(key) && !isNoOp(key, schema.get(key))) {
                throw GrammarException.schema(key, pointer + "/" + key, "cannot be enforced by the grammar");
            }
        }
        if (schema.has("$ref")) {
            String ref = schema.get("$ref").asText();
            if (SchemaMerger.onlyAnnotations(schema, "$ref")) {
                return ref(resolve(ref, pointer), ref.substring(1));
            }
        }
        if (schema.has("allOf") || schema.has("$ref")) {
            ObjectNode merged = new SchemaMerger(this, pointer).mergeAll(schema);
            return convert(merged, pointer);
        }
        for (String combinator : List.of("anyOf", "oneOf")) {
            if (schema.has(combinator)) {
                return alternatives(schema, combinator, pointer);
            }
        }
        if (schema.has("enum") || schema.has("const")) {
            return literals(schema, pointer);
        }
        List<Grammar> byType = new ArrayList<>();
        for (String type : allowedTypes(schema, pointer)) {
            byType.add(typed(type, schema, pointer));
        }
        return byType.size() == 1 ? byType.get(0) : new Grammar.Alternatives(byType);
    }

    private static boolean isNoOp(String key, JsonNode value) {
        return switch (key) {
            case "dependencies", "dependentRequired", "dependentSchemas" ->
                    value.isObject() && value.isEmpty();
            case "not" -> false;
            default -> false;
        };
    }

    private Grammar alternatives(JsonNode schema, String combinator, String pointer) {
        JsonNode branches = schema.get(combinator);
        if (!branches.isArray() || branches.isEmpty()) {
            throw GrammarException.schema(combinator, pointer, "must be a non-empty array");
        }
        ObjectNode siblings = ((ObjectNode) schema).deepCopy();
        siblings.remove(combinator);
        List<Grammar> out = new ArrayList<>();
        List<JsonNode> merged = new ArrayList<>();
        for (int i = 0; i < branches.size(); i++) {
            String at = pointer + "/" + combinator + "/" + i;
            JsonNode branch = branches.get(i);
            if (SchemaMerger.onlyAnnotations(siblings, null)) {
                merged.add(branch);
                out.add(ref(branch, at));
            } else {
                ObjectNode both = JSON.createObjectNode();
                both.set("allOf", JSON.createArrayNode().add(siblings).add(branch));
                merged.add(both);
                out.add(new Grammar.RuleRef(ruleForSynthetic(both, at)));
            }
        }
        if (combinator.equals("oneOf")) {
            new SchemaMerger(this, pointer).requireDisjoint(merged, pointer + "/oneOf");
        }
        return new Grammar.Alternatives(out);
    }

    /** A value fitting every one of {@code parts} (merged as allOf; a GrammarException where they cannot be). */
    Grammar allOf(List<JsonNode> parts, String pointer) {
        ObjectNode all = JSON.createObjectNode();
        all.set("allOf", JSON.createArrayNode().addAll(parts));
        return new Grammar.RuleRef(ruleForSynthetic(all, pointer));
    }

    private String ruleForSynthetic(JsonNode schema, String pointer) {
        String name = "#" + pointer + "&";
        if (!rules.containsKey(name)) {
            rules.put(name, new Grammar.Alternatives(List.of()));
            rules.put(name, convert(schema, pointer));
        }
        return name;
    }

    private Grammar literals(JsonNode schema, String pointer) {
        List<JsonNode> values = new ArrayList<>();
        if (schema.has("const")) {
            values.add(schema.get("const"));
        }
        if (schema.has("enum")) {
            if (!schema.get("enum").isArray()) {
                throw GrammarException.schema("enum", pointer, "must be an array");
            }
            schema.get("enum").forEach(values::add);
        }
        for (var it = schema.fieldNames(); it.hasNext(); ) {
            String key = it.next();
            if (!key.equals("enum") && !key.equals("const") && !key.equals("type") && !key.equals("nullable")
                    && SchemaMerger.isConstraint(key)) {
                throw GrammarException.schema(key, pointer + "/" + key, "next to enum/const cannot be enforced"
                        + " (list only the allowed values)");
            }
        }
        Set<String> types = schema.has("type") || schema.has("nullable")
                ? new LinkedHashSet<>(allowedTypes(schema, pointer)) : null;
        Set<String> texts = new LinkedHashSet<>();
        for (JsonNode v : values) {
            if (schema.has("const") && schema.has("enum") && !contains(schema.get("enum"), schema.get("const"))) {
                continue;
            }
            if (types == null || types.contains(typeOf(v)) || (typeOf(v).equals("integer") && types.contains("number"))
                    || (typeOf(v).equals("number") && types.contains("integer") && isIntegral(v))) {
                texts.add(v.toString());
            }
        }
        return Grammar.choice(List.copyOf(texts));
    }

    private static boolean contains(JsonNode array, JsonNode value) {
        for (JsonNode v : array) {
            if (v.equals(value)) {
                return true;
            }
        }
        return false;
    }

    static String typeOf(JsonNode v) {
        if (v.isNull()) return "null";
        if (v.isBoolean()) return "boolean";
        if (v.isObject()) return "object";
        if (v.isArray()) return "array";
        if (v.isTextual()) return "string";
        if (v.isIntegralNumber()) return "integer";
        return "number";
    }

    private static boolean isIntegral(JsonNode v) {
        return v.isNumber() && v.decimalValue().stripTrailingZeros().scale() <= 0;
    }

    /** The types a value may have: {@code type} (a name or a list), plus null when {@code nullable}. */
    static List<String> allowedTypes(JsonNode schema, String pointer) {
        Set<String> types = new LinkedHashSet<>();
        JsonNode type = schema.get("type");
        if (type == null) {
            types.addAll(List.of("null", "boolean", "object", "array", "string", "number"));
        } else if (type.isTextual()) {
            types.add(type.asText());
        } else if (type.isArray()) {
            type.forEach(t -> types.add(t.asText()));
        } else {
            throw GrammarException.schema("type", pointer, "must be a string or an array of strings");
        }
        for (String t : types) {
            if (!TYPES.contains(t)) {
                throw GrammarException.schema("type", pointer, "'" + t + "' is not a JSON Schema type");
            }
        }
        if (types.contains("number")) {
            types.remove("integer");
        }
        if (schema.path("nullable").asBoolean(false)) {
            types.add("null");
        }
        return List.copyOf(types);
    }

    private Grammar typed(String type, JsonNode schema, String pointer) {
        return switch (type) {
            case "null" -> JsonValueGrammar.NULL;
            case "boolean" -> JsonValueGrammar.BOOLEAN;
            case "string" -> JsonStrings.string(intOrNull(schema, "minLength", pointer),
                    intOrNull(schema, "maxLength", pointer), textOrNull(schema, "pattern"),
                    textOrNull(schema, "format"), pointer);
            case "integer" -> integer(schema, pointer);
            case "number" -> number(schema, pointer);
            case "object" -> new JsonObjects(this).object(schema, pointer);
            case "array" -> new JsonObjects(this).array(schema, pointer);
            default -> throw new IllegalStateException(type);
        };
    }

    Grammar value(JsonNode schema, String pointer) {
        return ref(schema, pointer);
    }

    static Integer intOrNull(JsonNode schema, String key, String pointer) {
        JsonNode v = schema.get(key);
        if (v == null) {
            return null;
        }
        if (!v.isNumber() || !isIntegral(v) || v.asLong() < 0 || v.asLong() > Integer.MAX_VALUE) {
            throw GrammarException.schema(key, pointer + "/" + key, "must be a non-negative integer");
        }
        return v.asInt();
    }

    private static String textOrNull(JsonNode schema, String key) {
        JsonNode v = schema.get(key);
        return v == null ? null : v.asText();
    }

    /**
     * An integer's digits, and from draft 6 on an optional zero fraction: there "any number with a zero fractional
     * part" is an integer, so {@code 2.0} is one (draft 4 says it is not, and there it is refused).
     */
    private Grammar integer(JsonNode schema, String pointer) {
        Grammar digits = integerDigits(schema, pointer);
        return isDraft4() ? digits : Grammar.sequence(digits, JsonValueGrammar.optional(ZERO_FRACTION));
    }

    private static final Grammar ZERO_FRACTION = Grammar.sequence(new Grammar.Literal("."),
            new Grammar.Repeat(new Grammar.Literal("0"), 1, Integer.MAX_VALUE));

    private boolean isDraft4() {
        JsonNode version = document.path("$schema");
        return version.isTextual() && (version.asText().contains("draft-04") || version.asText().contains("draft-03"));
    }

    private Grammar integerDigits(JsonNode schema, String pointer) {
        BigDecimal[] bounds = bounds(schema, pointer);
        if (bounds[0] == null && bounds[1] == null) {
            return JsonValueGrammar.INTEGER;
        }
        BigInteger lo = bounds[0] == null ? null : bounds[0].setScale(0, RoundingMode.CEILING).toBigInteger();
        BigInteger hi = bounds[1] == null ? null : bounds[1].setScale(0, RoundingMode.FLOOR).toBigInteger();
        if (lo != null && bounds[2] != null && bounds[0].compareTo(new BigDecimal(lo)) == 0) {
            lo = lo.add(BigInteger.ONE);   // exclusive and integral
        }
        if (hi != null && bounds[3] != null && bounds[1].compareTo(new BigDecimal(hi)) == 0) {
            hi = hi.subtract(BigInteger.ONE);
        }
        if (lo != null && hi != null && lo.compareTo(hi) > 0) {
            throw GrammarException.schema("minimum", pointer, "is above maximum: no integer fits");
        }
        return NumberRanges.integers(lo, hi);
    }

    private Grammar number(JsonNode schema, String pointer) {
        BigDecimal[] bounds = bounds(schema, pointer);
        if (bounds[0] == null && bounds[1] == null) {
            return JsonValueGrammar.NUMBER;
        }
        return DecimalRanges.numbers(bounds[0], bounds[2] != null, bounds[1], bounds[3] != null, pointer);
    }

    /**
     * [lower, upper, lowerExclusive?, upperExclusive?] from minimum/maximum/exclusive* in both the draft-4 form
     * (booleans next to minimum/maximum) and the draft-6 form (numbers).
     */
    private static BigDecimal[] bounds(JsonNode schema, String pointer) {
        BigDecimal lo = decimal(schema, "minimum", pointer);
        BigDecimal hi = decimal(schema, "maximum", pointer);
        BigDecimal loEx = null;
        BigDecimal hiEx = null;
        JsonNode exMin = schema.get("exclusiveMinimum");
        JsonNode exMax = schema.get("exclusiveMaximum");
        if (exMin != null && exMin.isBoolean()) {
            loEx = exMin.asBoolean() && lo != null ? lo : null;
        } else if (exMin != null) {
            BigDecimal v = decimal(schema, "exclusiveMinimum", pointer);
            if (lo == null || v.compareTo(lo) >= 0) {
                lo = v;
                loEx = v;
            }
        }
        if (exMax != null && exMax.isBoolean()) {
            hiEx = exMax.asBoolean() && hi != null ? hi : null;
        } else if (exMax != null) {
            BigDecimal v = decimal(schema, "exclusiveMaximum", pointer);
            if (hi == null || v.compareTo(hi) <= 0) {
                hi = v;
                hiEx = v;
            }
        }
        return new BigDecimal[] {lo, hi, loEx, hiEx};
    }

    private static BigDecimal decimal(JsonNode schema, String key, String pointer) {
        JsonNode v = schema.get(key);
        if (v == null) {
            return null;
        }
        if (!v.isNumber()) {
            throw GrammarException.schema(key, pointer + "/" + key, "must be a number");
        }
        return v.decimalValue();
    }
}
