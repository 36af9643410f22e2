package org.autoglm.node.workflow;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.PathType;
import com.networknt.schema.SchemaValidatorsConfig;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Comparator;
import java.util.Set;
import org.autoglm.node.api.JsonBody;

/**
 * Reads a template, JSON or YAML of the same shape, and holds it to the template schema (the resource
 * {@code workflow-template.schema.json}, served at {@code GET /v1/workflows/schema}): a field the schema does not
 * know, a wrong type or a value out of range is refused with the JSON pointer of the value.
 */
public final class TemplateReader {

    private static final String SCHEMA_RESOURCE = "workflow-template.schema.json";
    private static final ObjectMapper YAML = new YAMLMapper();
    private static final JsonNode SCHEMA_JSON = load();
    private static final JsonSchema SCHEMA = compile(SCHEMA_JSON);

    private TemplateReader() {}

    /** The template schema (a JSON Schema, draft 2020-12). */
    public static JsonNode schema() {
        return SCHEMA_JSON.deepCopy();
    }

    /** Parses {@code body} as YAML when {@code contentType} says so (or it does not start with '{'), else JSON. */
    public static ObjectNode parse(byte[] body, String contentType) {
        String text = new String(body, StandardCharsets.UTF_8);
        boolean yaml = contentType != null && contentType.toLowerCase(java.util.Locale.ROOT).contains("yaml")
                || !text.stripLeading().startsWith("{");
        JsonNode node;
        try {
            node = yaml ? YAML.readTree(text) : JsonBody.MAPPER.readTree(text);
        } catch (IOException e) {
            throw new TemplateException("", "The template is not valid " + (yaml ? "YAML" : "JSON") + ": "
                    + (e instanceof com.fasterxml.jackson.core.JsonProcessingException j ? j.getOriginalMessage() : e.getMessage()));
        }
        if (node == null || !node.isObject()) {
            throw new TemplateException("", "A template must be a JSON (or YAML) object with 'name' and 'steps'.");
        }
        return (ObjectNode) node;
    }

    /** Holds {@code template} to the template schema; throws with the pointer of the first problem. */
    public static void checkShape(ObjectNode template) {
        Set<ValidationMessage> errors = SCHEMA.validate(template);
        if (errors.isEmpty()) {
            return;
        }
        // The deepest problem first: "steps/2/retry/max_attempts" says more than "steps/2".
        ValidationMessage first = errors.stream()
                .min(Comparator.comparingInt((ValidationMessage m) -> -depth(m.getInstanceLocation().toString()))
                        .thenComparing(m -> m.getInstanceLocation().toString()))
                .orElseThrow();
        String at = first.getInstanceLocation().toString();
        if ("additionalProperties".equals(first.getType()) && first.getProperty() != null) {
            String field = first.getProperty();
            throw new TemplateException(at + "/" + field, "'" + field + "' is not a field of "
                    + (at.isEmpty() ? "a template" : "'" + at + "'") + "; see GET /v1/workflows/schema for the fields.");
        }
        String message = first.getMessage();
        throw new TemplateException(at, message.startsWith(at) ? "'" + at + "'" + message.substring(at.length())
                : message);
    }

    private static int depth(String pointer) {
        return (int) pointer.chars().filter(c -> c == '/').count();
    }

    /** A JSON Schema given by a template (its {@code params}), compiled; throws naming {@code pointer}. */
    static JsonSchema compileUserSchema(JsonNode schema, String pointer) {
        try {
            return compile(schema);
        } catch (RuntimeException e) {
            throw new TemplateException(pointer, "'" + pointer + "' is not a usable JSON Schema: " + e.getMessage());
        }
    }

    private static JsonSchema compile(JsonNode schema) {
        SchemaValidatorsConfig config = SchemaValidatorsConfig.builder().pathType(PathType.JSON_POINTER).build();
        return JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012).getSchema(schema, config);
    }

    private static JsonNode load() {
        try (InputStream in = TemplateReader.class.getResourceAsStream(SCHEMA_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("resource " + SCHEMA_RESOURCE + " is missing from the jar");
            }
            return JsonBody.MAPPER.readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
