package org.autoglm.models.grammar;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SchemaValidatorsConfig;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.SpecVersionDetector;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * A subschema whose {@code enum} or {@code const} (its own, or an {@code allOf} branch's) fixes a finite set of
 * values is exactly the values of that set which satisfy the whole subschema; a maintained validator (networknt)
 * decides each, so keywords the grammar cannot express ({@code not}, {@code multipleOf}, {@code if}, ... next to an
 * enum) are enforced exactly instead of refused. Used only where the grammar itself would refuse the subschema, and
 * only for self-contained subschemas (no {@code $ref}, which the validator could not resolve out of context).
 */
final class FiniteValues {

    private FiniteValues() { }

    /** The grammar of the allowed values, or null when {@code schema} does not fix a finite set we can check. */
    static Grammar of(JsonNode schema, JsonNode document) {
        if (!schema.isObject() || containsRef(schema)) {
            return null;
        }
        List<JsonNode> candidates = candidates(schema);
        if (candidates == null) {
            return null;
        }
        JsonSchema validator;
        try {
            SpecVersion.VersionFlag version = SpecVersionDetector.detectOptionalVersion(document, false)
                    .orElse(SpecVersion.VersionFlag.V202012);
            // Formats asserted: a value a format-checking validator would refuse is left out, never let through.
            SchemaValidatorsConfig config = SchemaValidatorsConfig.builder().formatAssertionsEnabled(true).build();
            validator = JsonSchemaFactory.getInstance(version).getSchema(schema, config);
        } catch (RuntimeException e) {
            return null;
        }
        Set<String> texts = new LinkedHashSet<>();
        for (JsonNode value : candidates) {
            try {
                if (validator.validate(value).isEmpty()) {
                    texts.add(value.toString());
                }
            } catch (RuntimeException e) {
                return null;
            }
        }
        return Grammar.choice(List.copyOf(texts));
    }

    /** The values of the schema's own enum/const, else of its first allOf branch that has one; null: none. */
    private static List<JsonNode> candidates(JsonNode schema) {
        List<JsonNode> own = listed(schema);
        if (own != null) {
            return own;
        }
        JsonNode allOf = schema.get("allOf");
        if (allOf != null && allOf.isArray()) {
            for (JsonNode branch : allOf) {
                List<JsonNode> values = branch.isObject() ? listed(branch) : null;
                if (values != null) {
                    return values;
                }
            }
        }
        return null;
    }

    private static List<JsonNode> listed(JsonNode schema) {
        if (schema.has("const")) {
            return List.of(schema.get("const"));
        }
        JsonNode e = schema.get("enum");
        if (e != null && e.isArray()) {
            List<JsonNode> values = new ArrayList<>();
            e.forEach(values::add);
            return values;
        }
        return null;
    }

    private static boolean containsRef(JsonNode node) {
        if (node.isObject()) {
            if (node.has("$ref") || node.has("$dynamicRef") || node.has("$recursiveRef")) {
                return true;
            }
            for (JsonNode child : node) {
                if (containsRef(child)) {
                    return true;
                }
            }
        } else if (node.isArray()) {
            for (JsonNode child : node) {
                if (containsRef(child)) {
                    return true;
                }
            }
        }
        return false;
    }
}
