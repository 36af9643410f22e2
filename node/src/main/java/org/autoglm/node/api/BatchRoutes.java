package org.autoglm.node.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.http.Context;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.function.Supplier;
import org.autoglm.gossip.batch.BatchJob;
import org.autoglm.gossip.batch.BatchStatus;
import org.autoglm.gossip.batch.BatchStore;
import org.autoglm.gossip.batch.FileStore;
import org.autoglm.gossip.batch.LineError;
import org.autoglm.gossip.batch.StoredFile;
import org.autoglm.node.security.Caller;

/**
 * OpenAI's Batches API: {@code POST /v1/batches}, {@code GET /v1/batches/{id}}, {@code GET /v1/batches?limit&after},
 * {@code POST /v1/batches/{id}/cancel}. A batch is a record in the grid; whichever node has room runs it (see
 * {@code node.batch.BatchRunner}), so the node that took the request may die without losing it.
 */
final class BatchRoutes {

    private static final Set<String> FIELDS = Set.of("input_file_id", "endpoint", "completion_window", "metadata");
    private static final long WINDOW_SECONDS = 24 * 3600;

    private final Supplier<FileStore> fileStore;
    private final Supplier<BatchStore> batchStore;
    private final long maxRequestBytes;

    BatchRoutes(Supplier<FileStore> files, Supplier<BatchStore> batches, long maxRequestBytes) {
        this.fileStore = files;
        this.batchStore = batches;
        this.maxRequestBytes = maxRequestBytes;
    }

    void create(Context ctx) {
        ObjectNode body = JsonBody.readObject(ctx, maxRequestBytes);
        for (Iterator<String> names = body.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!FIELDS.contains(name)) {
                throw ApiError.invalid(name, "'" + name + "' is not supported here; a batch takes " + FIELDS.stream()
                        .sorted().toList() + ".");
            }
        }
        Params p = new Params(body);
        String inputFileId = p.string("input_file_id", null);
        if (inputFileId == null) {
            throw ApiError.invalid("input_file_id", "'input_file_id' is required: the id of a file uploaded with"
                    + " purpose \"batch\".");
        }
        String endpoint = p.string("endpoint", null);
        if (endpoint == null || !BatchLines.ENDPOINTS.contains(endpoint)) {
            throw ApiError.invalid("endpoint", "'endpoint' must be one of " + BatchLines.ENDPOINTS + ".");
        }
        String window = p.string("completion_window", null);
        if (!"24h".equals(window)) {
            throw ApiError.invalid("completion_window", "'completion_window' must be \"24h\".");
        }
        Map<String, String> metadata = metadata(body.get("metadata"));
        Caller caller = ApiServer.caller(ctx);
        StoredFile input = fileStore.get().get(inputFileId);
        if (input == null || !Ownership.canRead(caller, input.owner())) {
            throw ApiError.notFound("input_file_id", "file_not_found", "No file '" + inputFileId
                    + "' (upload it with POST /v1/files, purpose \"batch\").");
        }
        if (!"batch".equals(input.purpose())) {
            throw ApiError.invalid("input_file_id", "File '" + inputFileId + "' has purpose '" + input.purpose()
                    + "'; a batch reads files uploaded with purpose \"batch\".");
        }
        BatchJob job = BatchJob.create("batch_" + UUID.randomUUID().toString().replace("-", ""), caller.subject(),
                endpoint, inputFileId, window, WINDOW_SECONDS, metadata);
        batchStore.get().create(job);
        ctx.json(describe(job));
    }

    /** OpenAI's metadata: at most 16 string pairs, keys up to 64 characters, values up to 512. */
    private static Map<String, String> metadata(JsonNode node) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isObject() || node.size() > 16) {
            throw ApiError.invalid("metadata", "'metadata' must be an object of at most 16 string values.");
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().length() > 64 || !e.getValue().isTextual() || e.getValue().textValue().length() > 512) {
                throw ApiError.invalid("metadata." + e.getKey(), "'metadata' keys may have 64 characters and values"
                        + " must be strings of at most 512.");
            }
            out.put(e.getKey(), e.getValue().textValue());
        }
        return out;
    }

    void get(Context ctx) {
        ctx.json(describe(visible(ctx)));
    }

    void list(Context ctx) {
        Caller caller = ApiServer.caller(ctx);
        int limit = queryInt(ctx, "limit", 20, 1, 100);
        String after = ctx.queryParam("after");
        List<BatchJob> mine = batchStore.get().list().stream().filter(b -> Ownership.canRead(caller, b.owner())).toList();
        int from = 0;
        if (after != null) {
            from = -1;
            for (int i = 0; i < mine.size(); i++) {
                if (mine.get(i).id().equals(after)) {
                    from = i + 1;
                }
            }
            if (from < 0) {
                throw ApiError.invalid("after", "'after' must be the id of a batch in the list, got '" + after + "'.");
            }
        }
        List<BatchJob> page = mine.subList(from, Math.min(mine.size(), from + limit));
        ObjectNode out = JsonBody.MAPPER.createObjectNode();
        out.put("object", "list");
        ArrayNode data = out.putArray("data");
        page.forEach(b -> data.add(describe(b)));
        if (page.isEmpty()) {
            out.putNull("first_id");
            out.putNull("last_id");
        } else {
            out.put("first_id", page.get(0).id());
            out.put("last_id", page.get(page.size() - 1).id());
        }
        out.put("has_more", from + page.size() < mine.size());
        ctx.json(out);
    }

    void cancel(Context ctx) {
        BatchJob job = visible(ctx);
        if (!Ownership.canCancel(ApiServer.caller(ctx), job.owner())) {
            throw ApiError.forbidden("Only the batch's owner or an operator may cancel it.");
        }
        BatchJob after = batchStore.get().update(job.id(), b -> b.status() == BatchStatus.VALIDATING
                || b.status() == BatchStatus.IN_PROGRESS || b.status() == BatchStatus.FINALIZING ? b.cancelling() : b);
        if (after.status() != BatchStatus.CANCELLING && after.status() != BatchStatus.CANCELLED) {
            throw new ApiError(409, "invalid_request_error", null, "batch_not_cancellable", "Batch " + job.id()
                    + " is already " + after.status().wire() + "; there is nothing to cancel.", null);
        }
        ctx.json(describe(after));
    }

    private BatchJob visible(Context ctx) {
        String id = ctx.pathParam("id");
        BatchJob job = batchStore.get().get(id);
        if (job == null || !Ownership.canRead(ApiServer.caller(ctx), job.owner())) {
            throw ApiError.notFound("batch_id", "batch_not_found", "No batch '" + id + "' (GET /v1/batches lists yours).");
        }
        return job;
    }

    private static int queryInt(Context ctx, String name, int fallback, int min, int max) {
        String raw = ctx.queryParam(name);
        if (raw == null) {
            return fallback;
        }
        try {
            int v = Integer.parseInt(raw);
            if (v >= min && v <= max) {
                return v;
            }
        } catch (NumberFormatException ignored) {
            // answered below
        }
        throw ApiError.invalid(name, "'" + name + "' must be an integer from " + min + " to " + max + ", got '" + raw + "'.");
    }

    static ObjectNode describe(BatchJob b) {
        ObjectNode n = JsonBody.MAPPER.createObjectNode();
        n.put("id", b.id());
        n.put("object", "batch");
        n.put("endpoint", b.endpoint());
        if (b.errors().isEmpty()) {
            n.putNull("errors");
        } else {
            ObjectNode errors = n.putObject("errors");
            errors.put("object", "list");
            ArrayNode data = errors.putArray("data");
            for (LineError e : b.errors()) {
                ObjectNode d = data.addObject().put("code", e.code()).put("message", e.message());
                putOrNull(d, "param", e.param());
                if (e.line() > 0) {
                    d.put("line", e.line());
                } else {
                    d.putNull("line");
                }
            }
        }
        n.put("input_file_id", b.inputFileId());
        n.put("completion_window", b.completionWindow());
        n.put("status", b.status().wire());
        putOrNull(n, "output_file_id", b.outputFileId());
        putOrNull(n, "error_file_id", b.errorFileId());
        n.put("created_at", b.createdAt());
        time(n, "in_progress_at", b.inProgressAt());
        time(n, "expires_at", b.expiresAt());
        time(n, "finalizing_at", b.finalizingAt());
        time(n, "completed_at", b.completedAt());
        time(n, "failed_at", b.failedAt());
        time(n, "expired_at", b.expiredAt());
        time(n, "cancelling_at", b.cancellingAt());
        time(n, "cancelled_at", b.cancelledAt());
        n.putObject("request_counts").put("total", b.total()).put("completed", b.completed()).put("failed", b.failed());
        if (b.metadata() == null) {
            n.putNull("metadata");
        } else {
            ObjectNode m = n.putObject("metadata");
            b.metadata().forEach(m::put);
        }
        return n;
    }

    private static void putOrNull(ObjectNode n, String name, String value) {
        if (value == null) {
            n.putNull(name);
        } else {
            n.put(name, value);
        }
    }

    private static void time(ObjectNode n, String name, long epochSeconds) {
        if (epochSeconds == 0) {
            n.putNull(name);
        } else {
            n.put(name, epochSeconds);
        }
    }
}
