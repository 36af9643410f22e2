package org.autoglm.node.console;

import io.javalin.Javalin;
import io.javalin.http.Context;
import java.io.IOException;
import java.io.InputStream;
import java.util.Map;
import java.util.Properties;
import java.util.regex.Pattern;
import org.autoglm.node.api.Access;
import org.autoglm.node.api.ApiError;

/**
 * {@code GET /console}: the live console, a single-page app shipped in the jar ({@code resources/console}: HTML, CSS
 * and a few ES modules; no build step) with uPlot from its WebJar at {@code /console/vendor/}. The page itself holds
 * no data and needs no token: it asks for a JWT and sends it with every call it makes.
 */
final class ConsoleRoutes {

    private static final String ROOT = "console/";
    private static final String UPLOT = "META-INF/resources/webjars/uplot/" + webjarVersion("uplot") + "/dist/";
    /** Asset names: segments of letters, digits, '-', '_' and '.' (not first), joined by '/'; never "..". */
    private static final Pattern ASSET = Pattern.compile("[A-Za-z0-9_-][A-Za-z0-9_.-]*(/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*");
    private static final Map<String, String> TYPES = Map.of("html", "text/html; charset=utf-8",
            "js", "text/javascript; charset=utf-8", "css", "text/css; charset=utf-8", "svg", "image/svg+xml",
            "png", "image/png");
    /**
     * The page holds a token and may hold a signing key: it runs only its own scripts, talks only to this node,
     * and may not be framed.
     */
    private static final String POLICY = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline';"
            + " img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

    void install(Javalin app) {
        app.get("/console", ctx -> send(ctx, ROOT + "index.html"), Access.PUBLIC);
        app.get("/console/<asset>", this::asset, Access.PUBLIC);
    }

    private void asset(Context ctx) throws IOException {
        String name = ctx.pathParam("asset");
        if (!ASSET.matcher(name).matches() || name.contains("..")) {
            throw notFound(name);
        }
        send(ctx, name.startsWith("vendor/") ? UPLOT + name.substring("vendor/".length()) : ROOT + name);
    }

    private static void send(Context ctx, String resource) throws IOException {
        String ext = resource.substring(resource.lastIndexOf('.') + 1);
        InputStream in = ConsoleRoutes.class.getClassLoader().getResourceAsStream(resource);
        if (in == null || !TYPES.containsKey(ext)) {
            if (in != null) in.close();
            throw notFound(resource);
        }
        try (in) {
            ctx.contentType(TYPES.get(ext));
            ctx.header("Cache-Control", "no-cache");
            ctx.header("X-Content-Type-Options", "nosniff");
            ctx.header("Content-Security-Policy", POLICY);
            ctx.header("Referrer-Policy", "no-referrer");
            ctx.result(in.readAllBytes());
        }
    }

    private static ApiError notFound(String name) {
        return ApiError.notFound(null, "not_found", "The console has no file '" + name + "'; open /console.");
    }

    /** The version of a WebJar on the class path, from its Maven properties (so the pom names it once). */
    private static String webjarVersion(String artifact) {
        try (InputStream in = ConsoleRoutes.class.getClassLoader()
                .getResourceAsStream("META-INF/maven/org.webjars.npm/" + artifact + "/pom.properties")) {
            Properties p = new Properties();
            if (in != null) p.load(in);
            return p.getProperty("version", "missing");
        } catch (IOException e) {
            return "missing";
        }
    }
}
