package org.autoglm.node.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code workflow create|run|status|draft|bulk}: a client of a running cluster's workflow API. The connection flags
 * ({@code --server}, {@code --token FILE}) and the HTTP client are {@code batch}'s; a server error is shown as its
 * one-line message; a bad flag is one line and exit code 1.
 */
@Command(name = "workflow", mixinStandardHelpOptions = true, exitCodeOnInvalidInput = 1,
        description = "Create workflow templates on a cluster, start runs and follow them step by step.",
        subcommands = {WorkflowCommand.Create.class, WorkflowCommand.Run.class, WorkflowCommand.Status.class,
                WorkflowCommand.Draft.class, WorkflowCommand.Bulk.class})
public final class WorkflowCommand implements Runnable {

    static final ObjectMapper JSON = new ObjectMapper();

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getErr());
    }

    @Command(name = "create", mixinStandardHelpOptions = true, exitCodeOnInvalidInput = 1,
            description = "Create a template from FILE (JSON or YAML), or add a new version of it.")
    static final class Create implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "FILE", description = "The template, as .json, .yaml or .yml.")
        Path file;

        @Mixin
        BatchCommand.Server server;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            JsonNode template = readTemplate(file);
            JsonNode created = server.json(server.request("/v1/workflows").header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(template.toString())));
            PrintWriter out = spec.commandLine().getOut();
            out.println(field(created, "name") + " version " + field(created, "version"));
            out.flush();
            return 0;
        }
    }

    @Command(name = "run", mixinStandardHelpOptions = true, exitCodeOnInvalidInput = 1,
            description = "Start a run of the template NAME; --wait follows it step by step.")
    static final class Run implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "NAME", description = "The template's name.")
        String name;

        @Option(names = "--param", paramLabel = "KEY=VALUE", description = "A parameter of the run (repeatable). A"
                + " value is taken as JSON (5, true, [1,2]) unless the template declares the parameter a string.")
        Map<String, String> params = new LinkedHashMap<>();

        @Option(names = "--priority", paramLabel = "N", description = "The run's priority (default: the template's).")
        Integer priority;

        @Option(names = "--wait", description = "Follow the run, one line per step change, until it ends; exit 0"
                + " only when it succeeded.")
        boolean await;

        @Mixin
        BatchCommand.Server server;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            JsonNode template = server.json(server.request("/v1/workflows/" + path(name)).GET());
            ObjectNode body = JSON.createObjectNode();
            body.set("params", typedParams(params, paramsSchema(template)));
            if (priority != null) {
                body.put("priority", priority);
            }
            JsonNode run = server.json(server.request("/v1/workflows/" + path(name) + "/runs")
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body.toString())));
            String id = field(run, "id");
            PrintWriter out = spec.commandLine().getOut();
            PrintWriter err = spec.commandLine().getErr();
            if (!await) {
                out.println(id);
                out.flush();
                return 0;
            }
            err.println("run " + id + " of " + name + " started (Ctrl-C stops following, not the run;"
                    + " 'workflow status " + id + "' shows it later)");
            err.flush();
            return new WorkflowProgress(server, err, out).follow(id);
        }
    }

    @Command(name = "status", mixinStandardHelpOptions = true, exitCodeOnInvalidInput = 1,
            description = "Show a run: its status, each step's, and its output.")
    static final class Status implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "RUN", description = "The run's id.")
        String id;

        @Option(names = "--wait", description = "Follow the run until it ends; exit 0 only when it succeeded.")
        boolean await;

        @Mixin
        BatchCommand.Server server;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            PrintWriter out = spec.commandLine().getOut();
            WorkflowProgress progress = new WorkflowProgress(server, spec.commandLine().getErr(), out);
            if (await) {
                return progress.follow(id);
            }
            JsonNode run = progress.run(id);
            progress.summary(run);
            out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(run));
            out.flush();
            return 0;
        }
    }

    @Command(name = "draft", mixinStandardHelpOptions = true, exitCodeOnInvalidInput = 1,
            description = "Let the served model write a template from a description; prints it as JSON.")
    static final class Draft implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "DESCRIPTION", description = "What the workflow should do.")
        String description;

        @Option(names = "--save", description = "Store the draft as a template (a new version if the name exists).")
        boolean save;

        @Option(names = "--seed", paramLabel = "N", description = "Sampling seed, for a draft you can reproduce.")
        Long seed;

        @Mixin
        BatchCommand.Server server;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            ObjectNode body = JSON.createObjectNode().put("description", description);
            if (seed != null) {
                body.put("seed", seed);
            }
            JsonNode draft = server.json(server.request("/v1/workflows/draft" + (save ? "?save=true" : ""))
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body.toString())));
            PrintWriter out = spec.commandLine().getOut();
            out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(draft.path("template")));
            out.flush();
            return 0;
        }
    }

    @Command(name = "bulk", mixinStandardHelpOptions = true, exitCodeOnInvalidInput = 1,
            description = "Start one run of NAME per line of FILE.jsonl (one params object per line).")
    static final class Bulk implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "NAME", description = "The template's name.")
        String name;

        @Parameters(index = "1", paramLabel = "FILE.jsonl", description = "One JSON object of params per line.")
        Path file;

        @Mixin
        BatchCommand.Server server;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            String fileId = BatchCommand.upload(server, file);
            String body = JSON.createObjectNode().put("input_file_id", fileId).toString();
            JsonNode bulk = server.json(server.request("/v1/workflows/" + path(name) + "/runs/bulk")
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)));
            PrintWriter out = spec.commandLine().getOut();
            out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(bulk));
            out.flush();
            return bulk.path("counts").path("rejected").asInt(0) == 0 ? 0 : 1;
        }
    }

    /** The template in {@code file}: JSON, or YAML of the same shape (by extension; else whichever parses). */
    static JsonNode readTemplate(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException(file + " is not a file (give the template as .json, .yaml or .yml)");
        }
        String text = Files.readString(file);
        String name = file.getFileName().toString().toLowerCase(java.util.Locale.ROOT);
        boolean yaml = name.endsWith(".yaml") || name.endsWith(".yml");
        JsonNode node;
        try {
            node = yaml ? new YAMLMapper().readTree(text) : JSON.readTree(text);
        } catch (JsonProcessingException e) {
            String where = e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr();
            throw new IllegalArgumentException(file + " is not valid " + (yaml ? "YAML" : "JSON") + where + ": "
                    + e.getOriginalMessage());
        }
        if (node == null || !node.isObject()) {
            throw new IllegalArgumentException(file + " must hold one template object (name, steps, ...)");
        }
        return node;
    }

    /** The template's {@code params} schema, whether the answer is the template or wraps it in {@code template}. */
    static JsonNode paramsSchema(JsonNode answer) {
        return answer.has("params") ? answer.get("params") : answer.path("template").path("params");
    }

    /**
     * {@code --param} values as JSON: a parameter the schema declares a string stays text; any other value is read as
     * JSON when it parses ({@code 5}, {@code true}, {@code ["a"]}) and kept as text when it does not, for the server
     * to accept or name.
     */
    static ObjectNode typedParams(Map<String, String> raw, JsonNode schema) {
        ObjectNode out = JSON.createObjectNode();
        raw.forEach((key, value) -> {
            JsonNode type = schema.path("properties").path(key).path("type");
            if ("string".equals(type.asText()) || type.isArray() && type.size() == 1 && "string".equals(type.get(0).asText())) {
                out.put(key, value);
                return;
            }
            JsonNode parsed = null;
            try {
                parsed = JSON.readTree(value);
            } catch (JsonProcessingException notJson) {
                // text after all
            }
            if (parsed == null || parsed.isMissingNode()) { // an empty value reads as no JSON at all
                out.put(key, value);
            } else {
                out.set(key, parsed);
            }
        });
        return out;
    }

    static String field(JsonNode node, String name) {
        JsonNode v = node.path(name);
        if (v.isMissingNode() || v.isNull()) {
            throw new IllegalStateException("the server's answer has no '" + name + "': " + node);
        }
        return v.asText();
    }

    static String path(String segment) {
        return URLEncoder.encode(segment, StandardCharsets.UTF_8).replace("+", "%20");
    }
}
