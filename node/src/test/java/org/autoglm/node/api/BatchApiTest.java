package org.autoglm.node.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.errors.BadRequestException;
import com.openai.models.batches.Batch;
import com.openai.models.batches.BatchCreateParams;
import com.openai.models.files.FileCreateParams;
import com.openai.models.files.FileObject;
import com.openai.models.files.FilePurpose;
import java.io.InputStream;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.autoglm.node.cli.ServeCommand;
import org.autoglm.node.engine.ReferenceCases;
import org.autoglm.node.security.JwtVerifierTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The Files and Batches APIs on one real node (glm-tiny, real engine, one-node grid, JWT on): the official OpenAI Java
 * SDK uploads, creates, polls and downloads; bad files fail the batch with line numbers; bad requests get 4xx; owners,
 * auditors and operators see and cancel what they may. The node also has per-user rate limits on the inference
 * routes (batch lines do not count against them) and the sensitive-words plugin, which batch lines pass through too.
 */
class BatchApiTest {

    private static final int GRID_PORT = 14600 + Integer.getInteger("autoglm.test.portOffset", 0);

    /** In the node's sensitive-words list (policy reject): plugins see batch lines as they see requests. */
    static final String SENSITIVE = "zebrafish";

    @TempDir
    static Path dir;
    static ServeCommand.RunningNode node;
    static Http anonymous;

    @BeforeAll
    static void start() throws Exception {
        node = startReady("--num-kv-blocks", "512", "--grid-port", Integer.toString(GRID_PORT),
                "--rate-limit-requests", "8", "--rate-limit-tokens", "3000",
                "--sensitive-words", Files.writeString(dir.resolve("words.txt"), SENSITIVE + "\n").toString(),
                "--jwt-secret-file", JwtVerifierTest.secretFile(dir).toString());
        anonymous = new Http(node.port());
    }

    /** A serve node of glm-tiny on a free HTTP port with {@code flags}, once its model is loaded and it is ready. */
    static ServeCommand.RunningNode startReady(String... flags) throws Exception {
        Path model = ReferenceCases.fixturesDir().resolve("glm-tiny");
        java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of("--model", model.toString(),
                "--port", "0", "--block-size", "4"));
        args.addAll(java.util.List.of(flags));
        CommandLine cli = new CommandLine(new ServeCommand());
        cli.parseArgs(args.toArray(String[]::new));
        ServeCommand.RunningNode started = ((ServeCommand) cli.getCommand()).start();
        await().atMost(Duration.ofSeconds(120)).until(() -> started.state().isReady()
                || String.valueOf(started.state().notReadyReason()).startsWith("model failed"));
        assertThat(started.state().notReadyReason()).isNull();
        return started;
    }

    @AfterAll
    static void stop() {
        if (node != null) {
            node.close();
        }
    }

    static String token(String subject, String role) throws Exception {
        return JwtVerifierTest.hs256(subject, List.of(role), Instant.now().plusSeconds(600));
    }

    static Http as(String subject, String role) throws Exception {
        return anonymous.withToken(token(subject, role));
    }

    static OpenAIClient sdk(String subject) throws Exception {
        return OpenAIOkHttpClient.builder().baseUrl(anonymous.base + "/v1").apiKey(token(subject, "user"))
                .maxRetries(0).build();
    }

    static String chatLine(String customId, String content, int maxTokens) {
        return "{\"custom_id\":\"" + customId + "\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":"
                + "{\"messages\":[{\"role\":\"user\",\"content\":\"" + content + "\"}],\"max_tokens\":" + maxTokens
                + ",\"temperature\":0}}";
    }

    static Map<String, JsonNode> byCustomId(String jsonl) throws Exception {
        Map<String, JsonNode> out = new HashMap<>();
        for (String line : jsonl.split("\n")) {
            if (!line.isBlank()) {
                JsonNode n = JsonBody.MAPPER.readTree(line);
                assertThat(out.put(n.get("custom_id").asText(), n)).as("custom_id twice: " + line).isNull();
            }
        }
        return out;
    }

    static JsonNode waitFor(Http h, String batchId, String... statuses) {
        JsonNode[] last = new JsonNode[1];
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(200)).until(() -> {
            last[0] = h.get("/v1/batches/" + batchId).json();
            return List.of(statuses).contains(last[0].get("status").asText());
        });
        return last[0];
    }

    @Test
    void officialSdkUploadsRunsAndReadsBack() throws Exception {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            lines.add(chatLine("req-" + i, "hello number " + i, 4));
        }
        Path input = dir.resolve("input.jsonl");
        Files.writeString(input, String.join("\n", lines) + "\n");
        OpenAIClient client = sdk("alice");
        try {
            FileObject file = client.files().create(FileCreateParams.builder().file(input).purpose(FilePurpose.BATCH).build());
            assertThat(file.filename()).isEqualTo("input.jsonl");
            assertThat(file.bytes()).isEqualTo(Files.size(input));
            Batch batch = client.batches().create(BatchCreateParams.builder().inputFileId(file.id())
                    .endpoint(BatchCreateParams.Endpoint.V1_CHAT_COMPLETIONS)
                    .completionWindow(BatchCreateParams.CompletionWindow._24H).build());
            assertThat(batch.status()).isEqualTo(Batch.Status.VALIDATING);
            String id = batch.id();
            await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(200))
                    .until(() -> client.batches().retrieve(id).status().equals(Batch.Status.COMPLETED));
            Batch done = client.batches().retrieve(id);
            assertThat(done.requestCounts().orElseThrow().total()).isEqualTo(6);
            assertThat(done.requestCounts().orElseThrow().completed()).isEqualTo(6);
            assertThat(done.completedAt()).isPresent();
            assertThat(done.inProgressAt()).isPresent();
            assertThat(done.errorFileId()).isEmpty();
            String output;
            try (InputStream body = client.files().content(done.outputFileId().orElseThrow()).body()) {
                output = new String(body.readAllBytes(), StandardCharsets.UTF_8);
            }
            Map<String, JsonNode> results = byCustomId(output);
            assertThat(results).hasSize(6);
            Http alice = as("alice", "user");
            for (int i = 0; i < 6; i++) {
                JsonNode r = results.get("req-" + i);
                assertThat(r.at("/response/status_code").asInt()).isEqualTo(200);
                assertThat(r.get("error").isNull()).isTrue();
                // The same request sent directly: greedy, so the batch answered exactly what a client would get.
                JsonNode direct = alice.post("/v1/chat/completions", JsonBody.MAPPER.readTree(lines.get(i)).get("body")
                        .toString()).json();
                assertThat(r.at("/response/body/choices/0/message/content").asText())
                        .isEqualTo(direct.at("/choices/0/message/content").asText());
                assertThat(r.at("/response/body/usage/completion_tokens").asInt()).isEqualTo(4);
            }
        } finally {
            client.close();
        }
    }

    /**
     * {@code batch submit --wait}, {@code batch status} and {@code batch results -o} against the node; one line
     * holds a sensitive word, which the plugin refuses as it refuses a direct request; the event stream shows the
     * batch's progress.
     */
    @Test
    void theBatchCliSubmitsFollowsAndDownloadsAndEventsShowProgress() throws Exception {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            lines.add(chatLine("cli-" + i, "cli number " + i, 3));
        }
        lines.add(chatLine("cli-4", "a " + SENSITIVE + " swims", 3));
        Path input = Files.writeString(dir.resolve("cli.jsonl"), String.join("\n", lines) + "\n");
        Path token = Files.writeString(dir.resolve("carol.token"), token("carol", "user"));
        String server = anonymous.base;
        java.io.StringWriter printed = new java.io.StringWriter();
        java.io.StringWriter progress = new java.io.StringWriter();
        CommandLine submit = org.autoglm.node.cli.Main.commandLine();
        submit.setOut(new java.io.PrintWriter(printed, true));
        submit.setErr(new java.io.PrintWriter(progress, true));
        assertThat(submit.execute("batch", "submit", input.toString(), "--server", server, "--token", token.toString(),
                "--wait")).as(progress.toString()).isZero();
        String id = printed.toString().lines().findFirst().orElseThrow().trim();
        assertThat(id).startsWith("batch_");

        java.io.StringWriter status = new java.io.StringWriter();
        CommandLine show = org.autoglm.node.cli.Main.commandLine();
        show.setOut(new java.io.PrintWriter(status, true));
        assertThat(show.execute("batch", "status", id, "--server", server, "--token", token.toString())).isZero();
        JsonNode shown = JsonBody.MAPPER.readTree(status.toString());
        assertThat(shown.get("status").asText()).isEqualTo("completed");
        assertThat(shown.at("/request_counts/completed").asInt()).isEqualTo(4);
        assertThat(shown.at("/request_counts/failed").asInt()).isEqualTo(1);

        Path out = dir.resolve("cli-out.jsonl");
        CommandLine results = org.autoglm.node.cli.Main.commandLine();
        results.setErr(new java.io.PrintWriter(new java.io.StringWriter(), true));
        assertThat(results.execute("batch", "results", id, "--server", server, "--token", token.toString(),
                "-o", out.toString())).isZero();
        assertThat(byCustomId(Files.readString(out))).containsOnlyKeys("cli-0", "cli-1", "cli-2", "cli-3");
        Map<String, JsonNode> refused = byCustomId(Files.readString(dir.resolve("cli-out.jsonl.errors.jsonl")));
        assertThat(refused).containsOnlyKeys("cli-4");
        assertThat(refused.get("cli-4").at("/response/status_code").asInt()).isEqualTo(400);
        assertThat(refused.get("cli-4").at("/response/body/error/code").asText()).isEqualTo("content_filtered");
        // A direct request with the word gets the same answer.
        Http.Response direct = as("carol", "user").post("/v1/chat/completions",
                JsonBody.MAPPER.readTree(lines.get(4)).get("body").toString());
        assertThat(direct.status()).isEqualTo(400);

        List<JsonNode> progressEvents = batchEvents(id);
        assertThat(progressEvents).extracting(e -> e.at("/data/status").asText()).contains("in_progress", "completed");
        JsonNode last = progressEvents.get(progressEvents.size() - 1);
        assertThat(last.at("/data/completed").asInt()).isEqualTo(4);
        assertThat(last.at("/data/failed").asInt()).isEqualTo(1);
        assertThat(last.at("/data/total").asInt()).isEqualTo(5);
    }

    /** {@code batch_progress} events of one batch on {@code /cluster/events}, from the ring's start to its end. */
    private static List<JsonNode> batchEvents(String batchId) throws Exception {
        java.net.http.HttpResponse<java.util.stream.Stream<String>> stream = java.net.http.HttpClient.newHttpClient()
                .send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(anonymous.base + "/cluster/events"))
                        .header("Authorization", "Bearer " + token("audrey", "auditor")).header("Last-Event-ID", "0")
                        .build(), java.net.http.HttpResponse.BodyHandlers.ofLines());
        List<JsonNode> seen = new ArrayList<>();
        java.util.concurrent.CompletableFuture<Void> read = java.util.concurrent.CompletableFuture.runAsync(() -> {
            java.util.Iterator<String> it = stream.body().iterator();
            while (it.hasNext()) {
                String line = it.next();
                if (!line.startsWith("data: ")) continue;
                try {
                    JsonNode e = JsonBody.MAPPER.readTree(line.substring(6));
                    if (e.get("type").asText().equals("batch_progress") && e.at("/data/batch_id").asText().equals(batchId)) {
                        synchronized (seen) {
                            seen.add(e);
                        }
                        if (e.at("/data/status").asText().equals("completed")) return;
                    }
                } catch (java.io.IOException ex) {
                    throw new java.io.UncheckedIOException(ex);
                }
            }
        });
        try {
            read.get(30, java.util.concurrent.TimeUnit.SECONDS);
        } finally {
            stream.body().close();
        }
        synchronized (seen) {
            return new ArrayList<>(seen);
        }
    }

    @Test
    void badLinesFailTheBatchWithTheirLineNumbers() throws Exception {
        String file = String.join("\n",
                chatLine("a", "fine", 2),
                "not json at all",
                chatLine("a", "same custom_id again", 2),
                chatLine("c", "x", 2).replace("/v1/chat/completions", "/v1/embeddings"),
                chatLine("d", "x", 2).replace("\"temperature\":0", "\"temperature\":7"),
                chatLine("e", "x", 2).replace("\"POST\"", "\"GET\"")) + "\n";
        Http alice = as("alice", "user");
        String fileId = upload(alice, "bad.jsonl", file, "batch").json().get("id").asText();
        JsonNode batch = alice.post("/v1/batches", "{\"input_file_id\":\"" + fileId
                + "\",\"endpoint\":\"/v1/chat/completions\",\"completion_window\":\"24h\"}").json();
        JsonNode failed = waitFor(alice, batch.get("id").asText(), "failed");
        JsonNode errors = failed.at("/errors/data");
        assertThat(errors).hasSize(5);
        Map<Integer, String> codes = new HashMap<>();
        errors.forEach(e -> codes.put(e.get("line").asInt(), e.get("code").asText()));
        assertThat(codes).containsEntry(2, "invalid_json").containsEntry(3, "duplicate_custom_id")
                .containsEntry(4, "invalid_url").containsEntry(5, "invalid_value").containsEntry(6, "invalid_value");
        assertThat(errors.get(3).get("param").asText()).isEqualTo("body.temperature");
        assertThat(failed.get("failed_at").isNumber()).isTrue();
    }

    @Test
    void badRequestsGetClearFourHundreds() throws Exception {
        Http alice = as("alice", "user");
        assertThat(alice.post("/v1/files", "{}").status()).isEqualTo(400);
        Http.Response purpose = upload(alice, "x.jsonl", chatLine("a", "b", 1), "fine-tune");
        assertThat(purpose.status()).isEqualTo(400);
        assertThat(purpose.json().at("/error/param").asText()).isEqualTo("purpose");
        OpenAIClient client = sdk("alice");
        try {
            assertThatThrownBy(() -> client.files().create(FileCreateParams.builder()
                    .file("x".getBytes(StandardCharsets.UTF_8)).purpose(FilePurpose.FINE_TUNE).build()))
                    .isInstanceOf(BadRequestException.class);
        } finally {
            client.close();
        }
        String fileId = upload(alice, "ok.jsonl", chatLine("a", "b", 1), "batch").json().get("id").asText();
        String ok = "\"input_file_id\":\"" + fileId + "\",\"endpoint\":\"/v1/chat/completions\",\"completion_window\":\"24h\"";
        assertThat(alice.post("/v1/batches", "{" + ok.replace(fileId, "file-nope") + "}").status()).isEqualTo(404);
        assertParam(alice.post("/v1/batches", "{" + ok.replace("/v1/chat/completions", "/v1/embeddings") + "}"), "endpoint");
        assertParam(alice.post("/v1/batches", "{" + ok.replace("24h", "1h") + "}"), "completion_window");
        assertParam(alice.post("/v1/batches", "{" + ok + ",\"output_expires_after\":{}}"), "output_expires_after");
        assertParam(alice.post("/v1/batches", "{" + ok + ",\"metadata\":{\"k\":1}}"), "metadata.k");
        assertParam(alice.get("/v1/batches?limit=0"), "limit");
        assertThat(alice.get("/v1/batches/batch_nope").status()).isEqualTo(404);
        assertThat(alice.get("/v1/files/file-nope/content").status()).isEqualTo(404);
        String batchId = alice.post("/v1/batches", "{" + ok + "}").json().get("id").asText();
        waitFor(alice, batchId, "completed");
        Http.Response cancelDone = alice.post("/v1/batches/" + batchId + "/cancel", "");
        assertThat(cancelDone.status()).isEqualTo(409);
        JsonNode page = alice.get("/v1/batches?limit=1").json();
        assertThat(page.get("data")).hasSize(1);
        assertThat(page.get("has_more").asBoolean()).isTrue();
        JsonNode next = alice.get("/v1/batches?limit=100&after=" + page.get("last_id").asText()).json();
        assertThat(next.get("data").findValuesAsText("id")).doesNotContain(page.get("last_id").asText());
    }

    @Test
    void ownersAuditorsAndOperators() throws Exception {
        Http carol = as("carol", "user");
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            lines.add(chatLine("long-" + i, "go on " + i, 200).replace("\"temperature\":0", "\"ignore_eos\":true"));
        }
        String fileId = upload(carol, "long.jsonl", String.join("\n", lines), "batch").json().get("id").asText();
        String batchId = carol.post("/v1/batches", "{\"input_file_id\":\"" + fileId
                + "\",\"endpoint\":\"/v1/chat/completions\",\"completion_window\":\"24h\",\"metadata\":{\"team\":\"x\"}}")
                .json().get("id").asText();
        Http bob = as("bob", "user");
        assertThat(bob.get("/v1/files/" + fileId).status()).isEqualTo(404);
        assertThat(bob.get("/v1/batches/" + batchId).status()).isEqualTo(404);
        assertThat(bob.post("/v1/batches/" + batchId + "/cancel", "").status()).isEqualTo(404);
        assertThat(bob.get("/v1/batches").json().get("data").findValuesAsText("id")).doesNotContain(batchId);
        assertThat(bob.delete("/v1/files/" + fileId).status()).isEqualTo(404);
        Http auditor = as("audrey", "auditor");
        assertThat(auditor.get("/v1/batches/" + batchId).json().at("/metadata/team").asText()).isEqualTo("x");
        assertThat(auditor.get("/v1/files/" + fileId + "/content").body()).isEqualTo(String.join("\n", lines));
        assertThat(auditor.post("/v1/batches/" + batchId + "/cancel", "").status()).isEqualTo(403);
        assertThat(carol.delete("/v1/files/" + fileId).status()).isEqualTo(409); // its batch still runs
        await().atMost(Duration.ofSeconds(60)).until(() -> carol.get("/v1/batches/" + batchId).json()
                .get("status").asText().equals("in_progress"));
        JsonNode cancelling = as("olga", "operator").post("/v1/batches/" + batchId + "/cancel", "").json();
        assertThat(cancelling.get("status").asText()).isIn("cancelling", "cancelled");
        JsonNode cancelled = waitFor(carol, batchId, "cancelled");
        int answered = cancelled.at("/request_counts/completed").asInt();
        int failed = cancelled.at("/request_counts/failed").asInt();
        assertThat(answered + failed).isEqualTo(40);
        Map<String, JsonNode> all = new HashMap<>();
        if (answered > 0) {
            all.putAll(byCustomId(carol.get("/v1/files/" + cancelled.get("output_file_id").asText() + "/content").body()));
        }
        Map<String, JsonNode> errors = byCustomId(carol.get("/v1/files/" + cancelled.get("error_file_id").asText()
                + "/content").body());
        assertThat(errors.values()).allMatch(e -> e.at("/error/code").asText().equals("batch_cancelled"));
        errors.keySet().forEach(k -> assertThat(all.put(k, errors.get(k))).as("in both files: " + k).isNull());
        assertThat(all).hasSize(40);
        assertThat(carol.delete("/v1/files/" + fileId).status()).isEqualTo(200);
        assertThat(carol.get("/v1/files/" + fileId).status()).isEqualTo(404);
    }

    @Test
    void aLineRunsOnlyOnANodeWithItsRequiredTags() throws Exception {
        // This node has no tags: the plain line runs, the one requiring "held" waits for a node that has it.
        Http dana = as("dana", "user");
        String file = chatLine("plain", "hello", 2) + "\n" + chatLine("held", "wait", 2)
                .replace("\"temperature\":0", "\"temperature\":0,\"required_tags\":[\"held\"]") + "\n";
        String fileId = upload(dana, "tags.jsonl", file, "batch").json().get("id").asText();
        String batchId = dana.post("/v1/batches", "{\"input_file_id\":\"" + fileId
                + "\",\"endpoint\":\"/v1/chat/completions\",\"completion_window\":\"24h\"}").json().get("id").asText();
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(() ->
                dana.get("/v1/batches/" + batchId).json().at("/request_counts/completed").asInt() == 1);
        Thread.sleep(2_000); // the node pulls every 100-500 ms: the waiting line would have run by now
        JsonNode waiting = dana.get("/v1/batches/" + batchId).json();
        assertThat(waiting.get("status").asText()).isEqualTo("in_progress");
        assertThat(waiting.at("/request_counts/completed").asInt() + waiting.at("/request_counts/failed").asInt())
                .as("the line requiring a tag this node lacks has not run").isEqualTo(1);
        dana.post("/v1/batches/" + batchId + "/cancel", "");
        JsonNode cancelled = waitFor(dana, batchId, "cancelled");
        assertThat(byCustomId(dana.get("/v1/files/" + cancelled.get("error_file_id").asText() + "/content").body()))
                .containsOnlyKeys("held");
    }

    @Test
    void rateLimitsAnswer429WithRetryAfterAndOpenAiHeaders() throws Exception {
        Http rita = as("rita", "user");
        String small = "{\"prompt\":\"hi\",\"max_tokens\":2}";
        // 8 a minute, and one more every 7.5 s: a slow machine may fit a refill or two before the budget runs out.
        int answered = 0;
        Http.Response refused = null;
        while (refused == null && answered < 20) {
            Http.Response r = rita.post("/v1/completions", small);
            if (r.status() == 429) {
                refused = r;
            } else {
                assertThat(r.status()).as(r.body()).isEqualTo(200);
                assertThat(r.headers().firstValue("x-ratelimit-limit-requests")).hasValue("8");
                assertThat(r.headers().firstValue("x-ratelimit-remaining-requests")).isPresent();
                answered++;
            }
        }
        assertThat(answered).isBetween(8, 12);
        assertThat(refused).isNotNull();
        assertThat(refused.json().at("/error/code").asText()).isEqualTo("rate_limit_exceeded");
        assertThat(Integer.parseInt(refused.headers().firstValue("Retry-After").orElseThrow())).isBetween(1, 8);
        assertThat(refused.headers().firstValue("x-ratelimit-remaining-requests")).hasValue("0");
        assertThat(refused.headers().firstValue("x-ratelimit-reset-requests")).isPresent();
        assertThat(as("tom", "user").post("/v1/completions", small).status()).as("others have their own budget")
                .isEqualTo(200);

        Http tom = as("tom", "user");
        // 6 choices x (400 prompt + 1) = 2,406 tokens of 3,000 a minute, quick to run: the second must wait ~36 s.
        String ids = java.util.stream.IntStream.range(0, 400).mapToObj(i -> Integer.toString(5 + i % 500))
                .collect(java.util.stream.Collectors.joining(","));
        String big = "{\"prompt\":[" + ids + "],\"max_tokens\":1,\"n\":6}";
        assertThat(tom.post("/v1/completions", big).status()).isEqualTo(200);
        Http.Response tokens = tom.post("/v1/completions", big);
        assertThat(tokens.status()).isEqualTo(429);
        assertThat(tokens.json().at("/error/message").asText()).contains("3000 tokens per minute");
        assertThat(tokens.headers().firstValue("x-ratelimit-limit-tokens")).hasValue("3000");
    }

    private static void assertParam(Http.Response r, String param) {
        assertThat(r.status()).as(r.body()).isEqualTo(400);
        assertThat(r.json().at("/error/param").asText()).isEqualTo(param);
    }

    /** A multipart upload the way OpenAI clients send it. */
    static Http.Response upload(Http h, String filename, String content, String purpose) {
        String boundary = "----autoglm" + System.nanoTime();
        String body = "--" + boundary + "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\n" + purpose + "\r\n"
                + "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + filename + "\"\r\n"
                + "Content-Type: application/jsonl\r\n\r\n" + content + "\r\n--" + boundary + "--\r\n";
        return h.send(h.builder("/v1/files").header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofString(body)));
    }
}
