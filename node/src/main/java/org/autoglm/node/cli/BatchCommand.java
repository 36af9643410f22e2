package org.autoglm.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code batch submit|status|results}: a client of a running cluster's Files and Batches API. Errors from the server
 * are shown as its one-line message; exit code 0 when the batch did what was asked, 1 otherwise.
 */
@Command(name = "batch", mixinStandardHelpOptions = true,
        description = "Submit a batch file to a cluster, follow it, and fetch its results.",
        subcommands = {BatchCommand.Submit.class, BatchCommand.Status.class, BatchCommand.Results.class})
public final class BatchCommand implements Runnable {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.err);
    }

    /** Where the cluster is and who we are. */
    static final class Server {
        @Option(names = "--server", required = true, paramLabel = "URL",
                description = "Any node of the cluster, e.g. http://10.0.0.5:8080.")
        String url;

        @Option(names = "--token", paramLabel = "FILE", description = "A file holding the bearer token (JWT).")
        Path tokenFile;

        private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

        HttpRequest.Builder request(String path) throws IOException {
            String base = url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
            HttpRequest.Builder b;
            try {
                b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofMinutes(10));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--server " + url + " is not a URL (e.g. http://127.0.0.1:8080)");
            }
            if (tokenFile != null) {
                if (!Files.isReadable(tokenFile)) {
                    throw new IllegalArgumentException("--token " + tokenFile + " does not exist or is not readable");
                }
                b.header("Authorization", "Bearer " + Files.readString(tokenFile).strip());
            }
            return b;
        }

        JsonNode json(HttpRequest.Builder b) throws IOException, InterruptedException {
            HttpResponse<String> r = send(b, HttpResponse.BodyHandlers.ofString());
            return JSON.readTree(r.body());
        }

        <T> HttpResponse<T> send(HttpRequest.Builder b, HttpResponse.BodyHandler<T> handler)
                throws IOException, InterruptedException {
            HttpResponse<T> r;
            try {
                r = http.send(b.build(), handler);
            } catch (java.net.ConnectException e) {
                throw new IOException("cannot reach " + url + " (is the node up? is --server right?)", e);
            }
            if (r.statusCode() >= 400) {
                Object body = r.body();
                String text = body instanceof InputStream in ? new String(in.readAllBytes(), StandardCharsets.UTF_8)
                        : String.valueOf(body);
                String message = text;
                try {
                    message = JSON.readTree(text).at("/error/message").asText(text);
                } catch (IOException ignored) {
                    // not JSON: show it as it came
                }
                throw new IOException("the server answered " + r.statusCode() + ": " + message);
            }
            return r;
        }

        JsonNode batch(String id) throws IOException, InterruptedException {
            return json(request("/v1/batches/" + id).GET());
        }
    }

    @Command(name = "submit", mixinStandardHelpOptions = true,
            description = "Upload FILE.jsonl (one request per line) and start a batch on it.")
    static final class Submit implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "FILE.jsonl")
        Path file;

        @Mixin
        Server server;

        @Option(names = "--endpoint", paramLabel = "PATH",
                description = "/v1/chat/completions or /v1/completions (default: the url of the file's first line).")
        String endpoint;

        @Option(names = "--wait", description = "Follow the batch with a progress bar until it ends.")
        boolean await;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            if (!Files.isRegularFile(file)) {
                throw new IllegalArgumentException(file + " is not a file");
            }
            String target = endpoint != null ? endpoint : firstUrl(file);
            String request = JSON.createObjectNode().put("input_file_id", upload(server, file))
                    .put("endpoint", target).put("completion_window", "24h").toString();
            JsonNode batch = server.json(server.request("/v1/batches").header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(request)));
            PrintWriter out = spec.commandLine().getOut();
            out.println(batch.get("id").asText());
            out.flush();
            return await ? follow(server, batch.get("id").asText(), spec.commandLine().getErr(), out) : 0;
        }

        private static String firstUrl(Path file) throws IOException {
            try (var lines = Files.lines(file)) {
                String first = lines.filter(l -> !l.isBlank()).findFirst()
                        .orElseThrow(() -> new IllegalArgumentException(file + " has no lines"));
                try {
                    return JSON.readTree(first).path("url").asText("/v1/chat/completions");
                } catch (IOException e) {
                    throw new IllegalArgumentException(file + ": the first line is not JSON; give --endpoint");
                }
            }
        }
    }

    @Command(name = "status", mixinStandardHelpOptions = true, description = "Show a batch; --wait follows it.")
    static final class Status implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "ID")
        String id;

        @Mixin
        Server server;

        @Option(names = "--wait", description = "Follow the batch with a progress bar until it ends.")
        boolean await;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            PrintWriter out = spec.commandLine().getOut();
            if (await) {
                return follow(server, id, spec.commandLine().getErr(), out);
            }
            JsonNode batch = server.batch(id);
            out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(batch));
            out.flush();
            return 0;
        }
    }

    @Command(name = "results", mixinStandardHelpOptions = true,
            description = "Download a batch's output (and, beside it, its errors) as JSONL.")
    static final class Results implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "ID")
        String id;

        @Mixin
        Server server;

        @Option(names = {"-o", "--output"}, required = true, paramLabel = "FILE", description = "Where to write the output lines.")
        Path output;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            JsonNode batch = server.batch(id);
            PrintWriter err = spec.commandLine().getErr();
            String status = batch.get("status").asText();
            if (!batch.hasNonNull("output_file_id") && !batch.hasNonNull("error_file_id")) {
                throw new IllegalStateException("batch " + id + " is " + status + " and has no results yet"
                        + (status.equals("failed") ? ": " + batch.at("/errors/data/0/message").asText("") : ""));
            }
            download(batch.path("output_file_id"), output);
            Path errors = output.resolveSibling(output.getFileName() + ".errors.jsonl");
            download(batch.path("error_file_id"), errors);
            err.println(id + " " + status + ": " + batch.at("/request_counts/completed").asInt() + " answered -> "
                    + output + (batch.hasNonNull("error_file_id") ? ", " + batch.at("/request_counts/failed").asInt()
                    + " failed -> " + errors : ""));
            err.flush();
            return 0;
        }

        private void download(JsonNode fileId, Path to) throws IOException, InterruptedException {
            if (fileId.isNull() || fileId.isMissingNode()) {
                Files.deleteIfExists(to);
                Files.createFile(to);
                return;
            }
            HttpResponse<InputStream> r = server.send(server.request("/v1/files/" + fileId.asText() + "/content").GET(),
                    HttpResponse.BodyHandlers.ofInputStream());
            try (InputStream in = r.body()) {
                Files.copy(in, to, StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }

    /** Uploads {@code file} to the Files API (purpose {@code batch}); returns the file's id. */
    static String upload(Server server, Path file) throws IOException, InterruptedException {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException(file + " is not a file");
        }
        String boundary = "autoglm-" + System.nanoTime();
        String head = "--" + boundary + "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n--"
                + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\""
                + file.getFileName().toString().replace("\"", "") + "\"\r\nContent-Type: application/jsonl\r\n\r\n";
        String tail = "\r\n--" + boundary + "--\r\n";
        HttpRequest.BodyPublisher body = HttpRequest.BodyPublishers.concat(
                HttpRequest.BodyPublishers.ofString(head), HttpRequest.BodyPublishers.ofFile(file),
                HttpRequest.BodyPublishers.ofString(tail));
        JsonNode uploaded = server.json(server.request("/v1/files")
                .header("Content-Type", "multipart/form-data; boundary=" + boundary).POST(body));
        return uploaded.get("id").asText();
    }

    /** Polls the batch once a second, drawing a progress bar on {@code err}, until it ends; 0 when it completed. */
    static int follow(Server server, String id, PrintWriter err, PrintWriter out) throws IOException, InterruptedException {
        while (true) {
            JsonNode b = server.batch(id);
            String status = b.get("status").asText();
            int total = b.at("/request_counts/total").asInt();
            int done = b.at("/request_counts/completed").asInt() + b.at("/request_counts/failed").asInt();
            err.print("\r" + bar(done, total) + " " + done + "/" + total + " " + status + "   ");
            err.flush();
            if (status.equals("completed") || status.equals("failed") || status.equals("expired")
                    || status.equals("cancelled")) {
                err.println();
                if (status.equals("failed")) {
                    err.println("failed: " + b.at("/errors/data/0/message").asText("(no reason given)"));
                }
                out.println(id + " " + status + " output_file_id=" + b.path("output_file_id").asText("null")
                        + " error_file_id=" + b.path("error_file_id").asText("null"));
                out.flush();
                err.flush();
                return status.equals("completed") ? 0 : 1;
            }
            Thread.sleep(1000);
        }
    }

    static String bar(int done, int total) {
        int width = 30;
        int filled = total == 0 ? 0 : (int) ((long) done * width / total);
        return "[" + "#".repeat(filled) + " ".repeat(width - filled) + "]";
    }
}
