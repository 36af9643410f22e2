package org.autoglm.node.api;

import io.javalin.http.Context;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * {@code x-request-id} on every response, as OpenAI sends it and its SDKs report it in errors: the caller's own id
 * when it sent a plain one (so a proxy's id carries through), else a new one.
 */
final class RequestIds {

    static final String HEADER = "x-request-id";
    private static final Pattern PLAIN = Pattern.compile("[A-Za-z0-9._:-]{1,128}");

    private RequestIds() {}

    static void assign(Context ctx) {
        String sent = ctx.header(HEADER);
        String id = sent != null && PLAIN.matcher(sent).matches() ? sent : "req-" + UUID.randomUUID().toString()
                .replace("-", "");
        ctx.attribute(HEADER, id);
        ctx.header(HEADER, id);
    }

    /** This request's id (assigned before any other handler runs). */
    static String of(Context ctx) {
        String id = ctx.attribute(HEADER);
        return id == null ? "" : id;
    }
}
