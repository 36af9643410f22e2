package org.autoglm.node.console;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.autoglm.node.cluster.ServeProcess;
import org.autoglm.node.control.CommandSignature;
import org.autoglm.node.engine.ReferenceCases;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.WebElement;

/**
 * The console in a real headless Chromium against three {@code serve} processes of the jar on loopback (p0 and p1 in
 * group a, p2 in group b), in one browser session: the page shows the three nodes and the leader; draining group a
 * from the page (a command signed in the browser) shows each node's ack; a request and a batch, each waiting for the
 * drained p0, are cancelled from the Requests and Batches views; a workflow run's DAG shows its step states; after {@code kill -9} of the leader the page
 * shows the new leader within 5 s; a user token sees no operator control; every control has an accessible name and
 * is reached by Tab; text meets AA contrast. Screenshots go to target/console/ (the frame-time measurement of a
 * simulated feed is {@link ConsoleFrameTimesIT}).
 */
class ConsoleProcessesIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int GRID = 21200 + Integer.getInteger("autoglm.test.portOffset", 0);
    private static final String PEERS = "127.0.0.1:" + GRID + ".." + (GRID + 2);
    private static final String SECRET = "console-test-secret-of-at-least-32-bytes";
    private static final Path OUT = Path.of("target", "console");

    private final List<ServeProcess> nodes = new ArrayList<>();
    private ConsoleBrowser browser;

    @AfterEach
    void stop() {
        if (browser != null) browser.close();
        nodes.forEach(ServeProcess::stop);
    }

    @Test
    void theConsoleFollowsTheClusterAndItsCommands() throws Exception {
        assumeTrue(System.getProperty("autoglm.node.jar") != null, "runs in the integration-test phase (mvn verify)");
        Path jar = Path.of(System.getProperty("autoglm.node.jar"));
        Files.createDirectories(OUT);
        Path secret = Files.writeString(OUT.resolve("jwt.secret"), SECRET);
        KeyPair signer = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        Files.writeString(OUT.resolve("command-keys.json"), JSON.writeValueAsString(List.of(Map.of("key_id", "console-a",
                "public_key", CommandSignature.pem(signer.getPublic()), "subject", "ops", "roles", List.of("operator"),
                "groups", List.of("a", "b")))));
        Path model = ReferenceCases.fixturesDir().resolve("glm-tiny");
        for (int i = 0; i < 3; i++) {
            // p0 alone has the tag "held": once group a is drained, work that requires it waits for placement.
            nodes.add(new ServeProcess("p" + i, jar, model, GRID + i, PEERS, 3, OUT, "--groups", i < 2 ? "a" : "b",
                    "--tags", i == 0 ? "held" : "any", "--jwt-secret-file", secret.toString(), "--command-keys",
                    OUT.resolve("command-keys.json").toString()));
        }
        for (ServeProcess node : nodes) { // one at a time: three JVMs starting at once starve a small machine
            node.start();
            await().atMost(Duration.ofSeconds(300)).until(() -> node.answers("/health"));
        }
        for (ServeProcess node : nodes) {
            await().atMost(Duration.ofSeconds(300)).until(() -> node.answers("/ready"));
        }
        String operator = token("ops", List.of("operator"));
        await().atMost(Duration.ofSeconds(60)).until(() -> leader(nodes.get(0), operator) != null);
        String leader = leader(nodes.get(0), operator);
        ServeProcess host = nodes.stream().filter(n -> !n.name.equals(leader)).findFirst().orElseThrow();

        browser = ConsoleBrowser.open(OUT);
        // The page loads, signs in, and shows three nodes and the leader.
        browser.get(host.uri("/console").toString());
        browser.signIn(operator);
        browser.await(Duration.ofSeconds(20), () -> browser.all("article.node").size() == 3
                && leader.equals(browser.one("#leader").getAttribute("data-leader")));
        assertThat(browser.all("section[data-group='a'] article.node")).hasSize(2);
        assertThat(browser.all("section[data-group='b'] article.node")).hasSize(1);
        assertThat(browser.one("article.node[data-leader='true']").getAttribute("data-node")).isEqualTo(leader);
        browser.checkAccessibility("cluster");
        browser.screenshot("cluster.png");

        // Draining group a from the page: the command is signed in the browser and each node of a acks it.
        browser.tab("commands");
        browser.one("#key-id").sendKeys("console-a");
        browser.one("#key-pem").sendKeys(CommandSignature.pem(signer.getPrivate()));
        browser.one("#key-form button[type=submit]").click();
        browser.await(Duration.ofSeconds(5), () -> browser.one("#key-state").getText().contains("console-a"));
        assertThat(browser.one("#key-pem").getAttribute("value")).as("the key is not kept in the form").isEmpty();
        browser.select("#cmd-op", "drain");
        browser.select("#cmd-target-kind", "groups");
        browser.one("#cmd-target").sendKeys("a");
        browser.one("#cmd-submit").click();
        // Acks take well under a second on a quiet machine; a loaded one (three JVMs and a browser) may take longer.
        browser.await(Duration.ofSeconds(60), () -> browser.all("li[data-command] .ack[data-state='done']").size() == 2);
        assertThat(browser.all("li[data-command] .ack").stream().map(e -> e.getAttribute("data-node")))
                .containsExactlyInAnyOrder("p0", "p1");
        assertThat(browser.one("#command-error").getText()).isEmpty();
        browser.checkAccessibility("commands");
        browser.screenshot("commands.png");
        browser.tab("cluster");
        browser.await(Duration.ofSeconds(10), () -> browser.all("article.node .badge.warn:not([hidden])").size() == 2);

        // Cancel of a request from the Requests view (a signed cancel command): a request to p2 that requires p0's
        // tag waits for placement while group a drains (up to the 30 s placement timeout, then it would fail).
        ServeProcess p2 = nodes.get(2);
        String user = token("alice", List.of("user"));
        CompletableFuture<HttpResponse<String>> waiting = send(p2, "POST", "/v1/chat/completions", user,
                "{\"model\":\"glm-tiny\",\"max_tokens\":4,\"required_tags\":[\"held\"],"
                        + "\"messages\":[{\"role\":\"user\",\"content\":\"wait\"}]}");
        browser.tab("requests");
        String row = "#requests-body tr[data-request]:not([hidden])";
        browser.await(Duration.ofSeconds(20), () -> browser.all(row).size() == 1);
        String requestId = browser.one(row).getAttribute("data-request");
        assertThat(browser.one(row).getText()).contains("alice", "pending");
        browser.one(row + " button").click();
        browser.await(Duration.ofSeconds(20), () -> !browser.one("#requests-status").getAttribute("data-command").isEmpty());
        String cancelId = browser.one("#requests-status").getAttribute("data-command");
        HttpResponse<String> cancelled = waiting.get(60, TimeUnit.SECONDS);
        System.out.println("console: request " + requestId + " cancelled from the page, its client heard: "
                + cancelled.statusCode() + " " + cancelled.body());
        assertThat(cancelled.body()).as("the client hears its request was cancelled").contains("cancel");
        browser.await(Duration.ofSeconds(10), () -> browser.all("#requests-body tr[data-request='" + requestId
                + "']:not([hidden])").isEmpty());
        browser.screenshot("requests-cancelled.png");
        browser.tab("commands");
        browser.await(Duration.ofSeconds(20), () -> browser.all("li[data-command='" + cancelId
                + "'] .ack[data-node='p2'][data-state='done']").size() == 1);

        // Cancel of a batch from the Batches view (the operator's token): its lines require p0's tag too, so it is
        // still in progress when the button is pressed.
        String fileId = JSON.readTree(upload(p2, user, "{\"custom_id\":\"l0\",\"method\":\"POST\",\"url\":"
                + "\"/v1/chat/completions\",\"body\":{\"model\":\"glm-tiny\",\"max_tokens\":4,\"required_tags\":"
                + "[\"held\"],\"messages\":[{\"role\":\"user\",\"content\":\"wait\"}]}}\n")).path("id").asText();
        String batchId = JSON.readTree(send(p2, "POST", "/v1/batches", user, "{\"input_file_id\":\"" + fileId
                + "\",\"endpoint\":\"/v1/chat/completions\",\"completion_window\":\"24h\"}").get(30, TimeUnit.SECONDS)
                .body()).path("id").asText();
        assertThat(batchId).as("batch created").isNotBlank();
        browser.tab("jobs");
        String batchRow = "tr[data-batch='" + batchId + "']";
        browser.await(Duration.ofSeconds(20), () -> "in_progress".equals(browser.one(batchRow).getAttribute("data-status")));
        browser.one(batchRow + " button").click();
        browser.await(Duration.ofSeconds(20), () -> List.of("cancelling", "cancelled")
                .contains(browser.one(batchRow).getAttribute("data-status")));
        assertThat(JSON.readTree(send(p2, "GET", "/v1/batches/" + batchId, user, null).get(30, TimeUnit.SECONDS).body())
                .path("status").asText()).isIn("cancelling", "cancelled");
        browser.screenshot("batch-cancelled.png");

        // A workflow run's DAG with its step states: "first" ends at once, "second" (an llm step that requires p0's
        // tag) keeps running while p0 drains, "third" waits for both.
        assertThat(send(p2, "POST", "/v1/workflows", operator, "{\"name\":\"console-dag\",\"steps\":["
                + "{\"id\":\"first\",\"kind\":\"transform\",\"expression\":\"{{ 1 + 1 }}\"},"
                + "{\"id\":\"second\",\"kind\":\"llm\",\"depends_on\":[\"first\"],\"prompt\":\"wait\",\"max_tokens\":2,"
                + "\"required_tags\":[\"held\"]},{\"id\":\"third\",\"kind\":\"transform\",\"depends_on\":[\"first\","
                + "\"second\"],\"expression\":\"{{ steps.second.output }}\"}]}").get(30, TimeUnit.SECONDS).statusCode())
                .isEqualTo(201);
        String runId = JSON.readTree(send(p2, "POST", "/v1/workflows/console-dag/runs", user, "{\"params\":{}}")
                .get(30, TimeUnit.SECONDS).body()).path("id").asText();
        assertThat(runId).as("run started").isNotBlank();
        String runRow = "tr[data-run='" + runId + "']";
        browser.await(Duration.ofSeconds(20), () -> browser.all(runRow).size() == 1);
        browser.one(runRow + " button").click();
        browser.await(Duration.ofSeconds(30), () -> browser.all("#run-dag g[data-step='first'][data-status='succeeded']")
                .size() == 1 && browser.all("#run-dag g[data-step='second'][data-status='running']").size() == 1);
        assertThat(browser.one("#run-dag g[data-step='third']").getAttribute("data-status")).isEqualTo("pending");
        assertThat(browser.all("#run-dag path.edge").stream().map(e -> e.getAttribute("data-from") + ">"
                + e.getAttribute("data-to"))).containsExactlyInAnyOrder("first>second", "first>third", "second>third");
        assertThat(browser.one("#run-detail").getAttribute("data-status")).isEqualTo("running");
        browser.checkAccessibility("jobs");
        browser.screenshot("workflow-run.png");

        // kill -9 of the leader: the page shows the new leader within 5 s (the Cluster view draws it).
        browser.tab("cluster");
        ServeProcess dead = nodes.stream().filter(n -> n.name.equals(leader)).findFirst().orElseThrow();
        long killed = System.nanoTime();
        dead.kill();
        browser.await(Duration.ofSeconds(5), () -> {
            String shown = browser.one("#leader").getAttribute("data-leader");
            return !shown.isEmpty() && !shown.equals(leader);
        });
        long failoverMillis = (System.nanoTime() - killed) / 1_000_000;
        System.out.println("console: new leader " + browser.one("#leader").getAttribute("data-leader") + " shown "
                + failoverMillis + " ms after kill -9 of " + leader);
        browser.screenshot("cluster-after-failover.png");

        // The other views render for an operator, and the audit chain checks out.
        browser.tab("charts");
        browser.await(Duration.ofSeconds(5), () -> browser.all("#chart-tps canvas").size() > 0);
        browser.tab("requests");
        browser.await(Duration.ofSeconds(5), () -> !browser.one("#requests-summary").getText().isEmpty());
        browser.tab("audit");
        browser.one("#audit-verify").click();
        browser.await(Duration.ofSeconds(10), () -> "intact".equals(browser.one("#audit-status").getAttribute("data-status")));

        // A user token sees no operator control (and no cluster views: its role may not read them).
        browser.one("#signout").click();
        browser.signIn(token("alice", List.of("user")));
        browser.await(Duration.ofSeconds(10), () -> browser.all("#tabs button").size() == 1);
        assertThat(browser.all(".operate")).isEmpty();
        assertThat(browser.all("button").stream().map(WebElement::getText).filter(t -> !t.isBlank()).toList())
                .noneMatch(t -> t.matches("(?i).*(drain|cancel|sign and send|import key).*"));
        browser.screenshot("user.png");

        // Chinese, from ?lang=zh.
        browser.one("#signout").click();
        browser.get(host.uri("/console?lang=zh").toString());
        browser.signIn(operator);
        browser.await(Duration.ofSeconds(10), () -> browser.one("h1").getText().contains("控制台"));
    }

    /** The leader's name as {@code node} sees it, or null. */
    private static String leader(ServeProcess node, String token) {
        try {
            HttpResponse<String> r = ServeProcess.HTTP.send(HttpRequest.newBuilder(node.uri("/cluster/leader"))
                    .header("Authorization", "Bearer " + token).timeout(Duration.ofSeconds(2)).GET().build(),
                    HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) return null;
            JsonNode n = JSON.readTree(r.body());
            return n.path("node").asText(null);
        } catch (Exception e) {
            return null;
        }
    }

    /** An HTTP call with a bearer token; {@code body} null for none. */
    private static CompletableFuture<HttpResponse<String>> send(ServeProcess node, String method, String path,
                                                                String token, String body) {
        return ServeProcess.HTTP.sendAsync(HttpRequest.newBuilder(node.uri(path)).timeout(Duration.ofSeconds(90))
                .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Uploads a batch input file; the answer is the file object. */
    private static String upload(ServeProcess node, String token, String content) throws Exception {
        String boundary = "----console" + System.nanoTime();
        String body = "--" + boundary + "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n"
                + "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"lines.jsonl\"\r\n"
                + "Content-Type: application/jsonl\r\n\r\n" + content + "\r\n--" + boundary + "--\r\n";
        return ServeProcess.HTTP.send(HttpRequest.newBuilder(node.uri("/v1/files")).timeout(Duration.ofSeconds(30))
                .header("Authorization", "Bearer " + token)
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString()).body();
    }

    private static String token(String subject, List<String> roles) throws Exception {
        JWTClaimsSet claims = new JWTClaimsSet.Builder().subject(subject).claim("roles", roles)
                .expirationTime(Date.from(Instant.now().plusSeconds(900))).build();
        SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), claims);
        jwt.sign(new MACSigner(SECRET.getBytes()));
        return jwt.serialize();
    }
}
