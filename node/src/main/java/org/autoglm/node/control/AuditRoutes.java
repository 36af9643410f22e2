package org.autoglm.node.control;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.http.Context;
import java.util.List;
import org.autoglm.gossip.control.AuditChain;
import org.autoglm.gossip.control.AuditEntry;
import org.autoglm.node.api.ApiError;

/**
 * {@code GET /cluster/audit?since=SEQ&limit=N[&format=jsonl]} (entries after {@code since}, oldest first; JSONL for
 * export), {@code GET /cluster/audit/export} (the whole chain as JSONL) and {@code GET /cluster/audit/verify}.
 */
final class AuditRoutes {

    static final int MAX_LIMIT = 10_000;
    private final AuditChain chain;

    AuditRoutes(AuditChain chain) {
        this.chain = chain;
    }

    void list(Context ctx) {
        long since = number(ctx, "since", 0, Long.MAX_VALUE, 0);
        int limit = (int) number(ctx, "limit", 1, MAX_LIMIT, 100);
        String format = ctx.queryParam("format");
        if (format != null && !format.equals("json") && !format.equals("jsonl")) {
            throw ApiError.invalid("format", "'format' must be json or jsonl.");
        }
        List<AuditEntry> entries = chain.read(since, limit);
        if ("jsonl".equals(format)) {
            jsonl(ctx, entries);
            return;
        }
        ObjectNode n = CommandRequest.JSON.createObjectNode();
        n.put("object", "list");
        n.put("length", chain.length());
        ArrayNode data = n.putArray("data");
        entries.forEach(e -> data.add(json(e)));
        ctx.json(n);
    }

    void export(Context ctx) {
        ctx.header("Content-Disposition", "attachment; filename=\"autoglm-audit.jsonl\"");
        jsonl(ctx, chain.read(0, Integer.MAX_VALUE));
    }

    void verify(Context ctx) {
        AuditChain.Verdict v = chain.verify();
        ObjectNode n = CommandRequest.JSON.createObjectNode();
        n.put("status", v.intact() ? "intact" : "broken");
        n.put("entries", v.entries());
        if (!v.intact()) {
            n.put("first_broken", v.brokenSeq());
            n.put("reason", v.reason());
        }
        ctx.json(n);
    }

    private static void jsonl(Context ctx, List<AuditEntry> entries) {
        StringBuilder out = new StringBuilder();
        entries.forEach(e -> out.append(json(e)).append('\n'));
        ctx.contentType("application/jsonl; charset=utf-8").result(out.toString());
    }

    static ObjectNode json(AuditEntry e) {
        return CommandRequest.JSON.createObjectNode().put("seq", e.seq()).put("time", e.timeMillis() / 1000.0)
                .put("node", e.node()).put("actor", e.actor()).put("action", e.action()).put("target", e.target())
                .put("detail", e.detail()).put("prev_hash", e.prevHash()).put("hash", e.hash())
                .put("signer", e.signerKeyId()).put("signature", e.signature());
    }

    private static long number(Context ctx, String name, long min, long max, long dflt) {
        String raw = ctx.queryParam(name);
        if (raw == null) return dflt;
        try {
            long v = Long.parseLong(raw);
            if (v >= min && v <= max) return v;
        } catch (NumberFormatException e) {
            // fall through
        }
        throw ApiError.invalid(name, "'" + name + "' must be an integer from " + min + " to " + max + ".");
    }
}
