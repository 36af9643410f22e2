package org.autoglm.node.workflow.bulk;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.Javalin;
import io.javalin.http.Context;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Iterator;
import java.util.Set;
import java.util.UUID;
import java.util.function.Supplier;
import org.autoglm.gossip.batch.FileStore;
import org.autoglm.gossip.batch.StoredFile;
import org.autoglm.node.api.Access;
import org.autoglm.node.api.ApiError;
import org.autoglm.node.api.ApiServer;
import org.autoglm.node.api.JsonBody;
import org.autoglm.node.batch.InputLines;
import org.autoglm.node.security.Caller;
import org.autoglm.node.security.Role;
import org.autoglm.node.workflow.TemplateException;
import org.autoglm.node.workflow.WorkflowRuns;

/**
 * {@code POST /v1/workflows/{name}/runs/bulk} with {@code {input_file_id, version?, priority?}}: one run of the
 * template per line of an uploaded JSONL file (the Files API, purpose {@code batch}), each line one params object.
 * Every line is started through the same run creation as {@code POST /v1/workflows/{name}/runs}; a line that is not
 * a JSON object, or whose params the template refuses, is reported with its number and does not stop the others.
 *
 * <p>The answer is the bulk object: {@code id}, {@code counts} (total, created, rejected), {@code run_ids} (in line
 * order, the created ones), {@code errors} ({@code line}, {@code message}, {@code param}) and {@code output_file_id},
 * a JSONL file with one line per input line ({@code {"line", "run_id"}} or {@code {"line", "error"}}) kept in the
 * grid, so that the runs of a bulk can be listed again later.
 */
public final class BulkRuns {

    /** A line refused before it reaches the template: not JSON, or not an object. */
    private static final class BadLine extends RuntimeException {
        BadLine(String message) {
            super(message, null, false, false);
        }
    }

    private static final Set<String> FIELDS = Set.of("input_file_id", "version", "priority");
    /** Error lines listed in the answer; all of them are in the output file. */
    private static final int MAX_LISTED_ERRORS = 100;
    /** A bulk start names a file; its lines are read from the file store, not the body. */
    private static final long MAX_BODY_BYTES = 64 * 1024;

    private final Supplier<FileStore> files;
    private final WorkflowRuns runs;

    public BulkRuns(Supplier<FileStore> files, WorkflowRuns runs) {
        this.files = files;
        this.runs = runs;
    }

    public void install(Javalin app) {
        app.post("/v1/workflows/{name}/runs/bulk", this::bulk, Access.INFERENCE);
    }

    private void bulk(Context ctx) throws IOException, InterruptedException {
        String workflow = ctx.pathParam("name");
        Caller caller = ApiServer.caller(ctx);
        ObjectNode body = JsonBody.readObject(ctx, MAX_BODY_BYTES);
        for (Iterator<String> it = body.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!FIELDS.contains(f)) {
                throw ApiError.invalid(f, "'" + f + "' is not a field of a bulk start; it takes 'input_file_id' and"
                        + " optionally 'version' and 'priority'.");
            }
        }
        if (!body.path("input_file_id").isTextual()) {
            throw ApiError.invalid("input_file_id", "'input_file_id' is required: the id of an uploaded JSONL file"
                    + " (POST /v1/files, purpose \"batch\") with one params object per line.");
        }
        Integer version = integer(body, "version");
        Integer priority = integer(body, "priority");
        String fileId = body.get("input_file_id").asText();
        StoredFile input = files.get().get(fileId);
        if (input == null || !(caller.subject().equals(input.owner()) || caller.has(Role.OPERATOR))) {
            throw ApiError.notFound("input_file_id", "file_not_found", "No file '" + fileId + "' (GET /v1/files lists"
                    + " yours).");
        }

        String id = "wfbulk_" + UUID.randomUUID().toString().replace("-", "");
        ObjectNode out = JsonBody.MAPPER.createObjectNode();
        out.put("id", id).put("object", "workflow.bulk").put("workflow", workflow).put("input_file_id", fileId)
                .put("created_at", Instant.now().getEpochSecond());
        ArrayNode runIds = JsonBody.MAPPER.createArrayNode();
        ArrayNode errors = JsonBody.MAPPER.createArrayNode();
        int[] counts = new int[3]; // total, created, rejected
        FileStore.Writer results = files.get().create("file-" + id.substring("wfbulk_".length()) + "-runs",
                input.owner(), id + "_runs.jsonl", "batch_output");
        try {
            InputLines.forEach(files.get(), input, (number, text) -> {
                counts[0]++;
                ObjectNode line = JsonBody.MAPPER.createObjectNode().put("line", number);
                try {
                    String runId = runs.start(workflow, version, params(text), priority, caller.subject()).id;
                    counts[1]++;
                    runIds.add(runId);
                    line.put("run_id", runId);
                } catch (TemplateException | BadLine e) {
                    counts[2]++;
                    ObjectNode error = line.putObject("error").put("message", e.getMessage())
                            .put("param", e instanceof TemplateException t ? t.pointer() : "/params");
                    if (errors.size() < MAX_LISTED_ERRORS) {
                        errors.addObject().put("line", number).setAll(error);
                    }
                }
                results.write((line + "\n").getBytes(StandardCharsets.UTF_8));
                return true;
            });
        } catch (IOException | RuntimeException | InterruptedException e) {
            if (counts[1] == 0) {
                results.abandon(); // nothing started (no such workflow, say): nothing to list
            } else {
                results.finish(); // the runs already started stay started: the output file lists them
            }
            throw e;
        }
        StoredFile written = results.finish();
        out.putObject("counts").put("total", counts[0]).put("created", counts[1]).put("rejected", counts[2]);
        out.set("run_ids", runIds);
        out.set("errors", errors);
        out.put("output_file_id", written.id());
        ctx.status(201).json(out); // refused lines are in the answer, not a failure of the bulk
    }

    /** A line's params: a JSON object, else the line is refused. */
    private static JsonNode params(String text) {
        JsonNode node;
        try {
            node = JsonBody.MAPPER.readTree(text);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new BadLine("The line is not JSON: " + e.getOriginalMessage());
        }
        if (!node.isObject()) {
            throw new BadLine("The line must be one JSON object of params, got " + node.getNodeType()
                    .name().toLowerCase(java.util.Locale.ROOT) + ".");
        }
        return node;
    }

    private static Integer integer(ObjectNode body, String field) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isIntegralNumber() || !v.canConvertToInt()) {
            throw ApiError.invalid(field, "'" + field + "' must be an integer.");
        }
        return v.asInt();
    }
}
