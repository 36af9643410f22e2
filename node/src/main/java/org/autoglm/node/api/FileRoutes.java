package org.autoglm.node.api;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.http.Context;
import io.javalin.http.UploadedFile;
import java.io.IOException;
import java.io.InputStream;
import java.util.UUID;
import java.util.function.Supplier;
import org.autoglm.gossip.batch.BatchStore;
import org.autoglm.gossip.batch.FileStore;
import org.autoglm.gossip.batch.StoredFile;
import org.autoglm.node.security.Caller;

/**
 * OpenAI's Files API over the grid's file store: {@code POST /v1/files} (multipart {@code file} and
 * {@code purpose=batch}), {@code GET /v1/files}, {@code GET /v1/files/{id}}, {@code GET /v1/files/{id}/content},
 * {@code DELETE /v1/files/{id}}. Uploads stream into the grid chunk by chunk; content streams back the same way.
 */
final class FileRoutes {

    private final Supplier<FileStore> fileStore;
    private final Supplier<BatchStore> batchStore;
    private final long maxFileBytes;

    FileRoutes(Supplier<FileStore> files, Supplier<BatchStore> batches, long maxFileBytes) {
        this.fileStore = files;
        this.batchStore = batches;
        this.maxFileBytes = maxFileBytes;
    }

    void upload(Context ctx) throws IOException {
        if (!ctx.isMultipartFormData()) {
            throw ApiError.invalid(null, "POST /v1/files takes multipart/form-data with the fields 'file' (the JSONL"
                    + " file) and 'purpose' (\"batch\").");
        }
        UploadedFile upload;
        String purpose;
        try {
            upload = ctx.uploadedFile("file");
            purpose = ctx.formParam("purpose");
        } catch (RuntimeException e) { // Jetty refuses a part or a request over the multipart limits
            if (String.valueOf(e.getMessage()).contains("exceeds")) {
                throw fileTooLarge();
            }
            throw ApiError.invalid("file", "The multipart body could not be read: " + e.getMessage());
        }
        if (purpose == null) {
            throw ApiError.invalid("purpose", "'purpose' is required; use \"batch\".");
        }
        if (!"batch".equals(purpose)) {
            throw ApiError.invalid("purpose", "'purpose' must be \"batch\": the only files this server takes are"
                    + " batch inputs, got '" + purpose + "'.");
        }
        if (upload == null) {
            throw ApiError.invalid("file", "'file' is required: the JSONL file to upload.");
        }
        if (upload.size() > maxFileBytes) {
            throw fileTooLarge();
        }
        String full = fileStore.get().fullReason(upload.size());
        if (full != null) {
            throw new ApiError(507, "server_error", "file", "insufficient_storage", "The file cannot be stored now: "
                    + full + ".", null);
        }
        Caller caller = ApiServer.caller(ctx);
        String filename = upload.filename() == null || upload.filename().isBlank() ? "upload.jsonl" : upload.filename();
        FileStore.Writer writer = fileStore.get().create("file-" + UUID.randomUUID().toString().replace("-", ""),
                caller.subject(), filename, purpose);
        try (InputStream in = upload.content()) {
            in.transferTo(writer);
        } catch (IOException | RuntimeException e) {
            writer.abandon();
            throw e;
        }
        if (writer.bytes() > maxFileBytes) {
            writer.abandon();
            throw fileTooLarge();
        }
        StoredFile stored = writer.finish();
        if (stored.lines() > BatchLines.MAX_LINES) {
            fileStore.get().delete(stored.id());
            throw ApiError.invalid("file", "The file has " + stored.lines() + " lines; a batch input may have at most "
                    + BatchLines.MAX_LINES + ". Split it into several files.");
        }
        ctx.json(describe(stored));
    }

    private ApiError fileTooLarge() {
        return new ApiError(413, "invalid_request_error", "file", "file_too_large", "The file is larger than "
                + maxFileBytes + " bytes (--max-file-bytes); split it into several files.", null);
    }

    void list(Context ctx) {
        Caller caller = ApiServer.caller(ctx);
        String purpose = ctx.queryParam("purpose");
        ObjectNode out = JsonBody.MAPPER.createObjectNode();
        out.put("object", "list");
        ArrayNode data = out.putArray("data");
        for (StoredFile f : fileStore.get().list()) {
            if (Ownership.canRead(caller, f.owner()) && (purpose == null || purpose.equals(f.purpose()))) {
                data.add(describe(f));
            }
        }
        out.put("has_more", false);
        ctx.json(out);
    }

    void get(Context ctx) {
        ctx.json(describe(visible(ctx)));
    }

    void content(Context ctx) {
        StoredFile file = visible(ctx);
        ctx.contentType("application/jsonl");
        ctx.header("Content-Disposition", "attachment; filename=\"" + file.filename().replace("\"", "") + "\"");
        ctx.header("Content-Length", Long.toString(file.bytes()));
        ctx.result(fileStore.get().open(file));
    }

    void delete(Context ctx) {
        StoredFile file = visible(ctx);
        if (!Ownership.canDelete(ApiServer.caller(ctx), file.owner())) {
            throw ApiError.forbidden("Only the file's owner (or an admin) may delete it.");
        }
        batchStore.get().list().stream()
                .filter(b -> !b.status().terminal() && file.id().equals(b.inputFileId()))
                .findFirst().ifPresent(b -> {
                    throw new ApiError(409, "invalid_request_error", "file_id", "file_in_use", "The file is the input"
                            + " of batch " + b.id() + ", which is " + b.status().wire() + "; cancel the batch or let it"
                            + " finish first.", null);
                });
        fileStore.get().delete(file.id());
        ctx.json(JsonBody.MAPPER.createObjectNode().put("id", file.id()).put("object", "file").put("deleted", true));
    }

    /** The file named in the path, if the caller may see it; 404 otherwise. */
    private StoredFile visible(Context ctx) {
        String id = ctx.pathParam("id");
        StoredFile file = fileStore.get().get(id);
        if (file == null || !Ownership.canRead(ApiServer.caller(ctx), file.owner())) {
            throw ApiError.notFound("file_id", "file_not_found", "No file '" + id + "' (GET /v1/files lists yours).");
        }
        return file;
    }

    static ObjectNode describe(StoredFile f) {
        ObjectNode n = JsonBody.MAPPER.createObjectNode();
        n.put("id", f.id());
        n.put("object", "file");
        n.put("bytes", f.bytes());
        n.put("created_at", f.createdAt());
        n.putNull("expires_at");
        n.put("filename", f.filename());
        n.put("purpose", f.purpose());
        n.put("status", "processed");
        n.putNull("status_details");
        return n;
    }
}
