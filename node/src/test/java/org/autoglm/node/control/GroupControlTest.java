package org.autoglm.node.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.autoglm.node.cli.Main;
import org.junit.jupiter.api.io.TempDir;

/** Groups, scoped operators and signed commands on three real nodes (see {@link ControlCluster}). */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class GroupControlTest {

    @TempDir
    static Path dir;
    static ControlCluster cluster;
    static final String OPS_A = ControlCluster.token("olga", List.of("operator"), List.of("a"));

    @BeforeAll
    static void start() throws Exception {
        cluster = new ControlCluster(dir, 28720);
    }

    @AfterAll
    static void stop() {
        if (cluster != null) cluster.close();
    }

    @Test
    @Order(1)
    void nodesShowGroupsAndScopedOperatorsAreRefusedOutsideThem() throws Exception {
        JsonNode nodes = ControlCluster.JSON.readTree(cluster.get(0, "/cluster/nodes", OPS_A).body());
        assertThat(nodes).hasSize(3);
        for (JsonNode n : nodes) {
            String expected = ControlCluster.GROUPS.get(ControlCluster.NAMES.indexOf(n.get("name").asText()));
            assertThat(n.get("groups")).extracting(JsonNode::asText).containsExactly(expected);
        }
        HttpResponse<String> other = cluster.post(0, "/cluster/nodes/c/drain", OPS_A, "", null);
        assertThat(other.statusCode()).isEqualTo(403);
        assertThat(other.body()).contains("group(s) [b]").contains("[a]");
        HttpResponse<String> local = cluster.post(2, "/admin/drain", OPS_A, "", null);
        assertThat(local.statusCode()).isEqualTo(403);
        assertThat(local.body()).contains("[b]");
    }

    @Test
    @Order(2)
    void aSignedDrainReachesItsGroupAndIsAckedByEachNode() throws Exception {
        String body = ControlCluster.body("drain", "{\"groups\":[\"a\"]}", "{}", "ops-a");
        HttpResponse<String> posted = cluster.command(2, OPS_A, body, cluster.opsA);
        assertThat(posted.statusCode()).as(posted.body()).isEqualTo(201);
        String id = ControlCluster.JSON.readTree(posted.body()).get("id").asText();
        JsonNode done = cluster.awaitSettled(id);
        assertThat(done.get("nodes").fieldNames()).toIterable().containsExactly("a", "b");
        assertThat(done.at("/nodes/a/state").asText()).isEqualTo("done");
        assertThat(done.at("/nodes/b/result/draining").asBoolean()).isTrue();
        await().atMost(Duration.ofSeconds(5)).until(() -> cluster.get(1, "/ready", OPS_A).statusCode() == 503);
        assertThat(cluster.get(2, "/ready", OPS_A).statusCode()).isEqualTo(200);
        JsonNode nodes = ControlCluster.JSON.readTree(cluster.get(2, "/cluster/nodes", OPS_A).body());
        assertThat(nodes.findValues("draining")).extracting(JsonNode::asBoolean).containsExactly(true, true, false);

        String again = ControlCluster.body("undrain", "{\"nodes\":[\"a\",\"b\"]}", "{}", "ops-a");
        String undrain = ControlCluster.JSON.readTree(cluster.command(0, OPS_A, again, cluster.opsA).body())
                .get("id").asText();
        assertThat(cluster.awaitSettled(undrain).get("summary").get("done").asInt()).isEqualTo(2);
        await().atMost(Duration.ofSeconds(5)).until(() -> cluster.get(1, "/ready", OPS_A).statusCode() == 200);
    }

    @Test
    @Order(3)
    void badSignaturesReplaysExpiryAndScopeAreRefused() throws Exception {
        String body = ControlCluster.body("diagnostics", "{\"groups\":[\"a\"]}", "{}", "ops-a");
        HttpResponse<String> unsigned = cluster.post(0, "/cluster/commands", OPS_A, body, null);
        assertThat(unsigned.statusCode()).isEqualTo(401);
        assertThat(unsigned.body()).contains("X-Command-Signature");
        String forged = CommandSignature.sign(cluster.root.getPrivate(), body); // signed by another key than key_id
        HttpResponse<String> wrong = cluster.post(0, "/cluster/commands", OPS_A, body, forged);
        assertThat(wrong.statusCode()).isEqualTo(401);
        assertThat(wrong.body()).contains("does not match");
        String tampered = body.replace("\"args\":{}", "\"args\":{ }");
        // whitespace is not part of the canonical form: still valid
        assertThat(cluster.post(0, "/cluster/commands", OPS_A, tampered,
                CommandSignature.sign(cluster.opsA.getPrivate(), body)).statusCode()).isEqualTo(201);
        HttpResponse<String> replay = cluster.command(1, OPS_A, body, cluster.opsA);
        assertThat(replay.statusCode()).isEqualTo(409);
        assertThat(replay.body()).contains("nonce");

        String groupB = ControlCluster.body("drain", "{\"groups\":[\"b\"]}", "{}", "ops-a");
        HttpResponse<String> outOfKeyScope = cluster.command(0, ControlCluster.admin(), groupB, cluster.opsA);
        assertThat(outOfKeyScope.statusCode()).isEqualTo(403);
        assertThat(outOfKeyScope.body()).contains("'b'");
        String rootSigned = ControlCluster.body("drain", "{\"nodes\":[\"c\"]}", "{}", "root");
        HttpResponse<String> outOfTokenScope = cluster.command(0, OPS_A, rootSigned, cluster.root);
        assertThat(outOfTokenScope.statusCode()).isEqualTo(403);
        assertThat(outOfTokenScope.body()).contains("group(s) [b]");

        String expired = body.replaceAll("\"expires_at\":\\d+", "\"expires_at\":1000").replace("diagnostics", "undrain");
        assertThat(cluster.command(0, OPS_A, expired, cluster.opsA).statusCode()).isEqualTo(400);
        String unknownField = body.replace("\"op\"", "\"extra\":1,\"op\"");
        HttpResponse<String> unknown = cluster.command(0, OPS_A, unknownField, cluster.opsA);
        assertThat(unknown.statusCode()).isEqualTo(400);
        assertThat(unknown.body()).contains("extra");
    }

    @Test
    @Order(4)
    void everyNodeRunsDiagnosticsReloadAndLogLevelAndAcksWithinASecond() throws Exception {
        List<Long> ackMillis = new ArrayList<>();
        for (int round = 0; round < 10; round++) {
            String body = ControlCluster.body("set-log-level", "{\"all\":true}",
                    "{\"level\":\"info\",\"logger\":\"org.autoglm.test\"}", "root");
            String id = ControlCluster.JSON.readTree(cluster.command(round % 3, ControlCluster.admin(), body, cluster.root)
                    .body()).get("id").asText();
            JsonNode settled = cluster.awaitSettled(id);
            assertThat(settled.get("summary").get("done").asInt()).as(settled.toString()).isEqualTo(3);
            settled.get("nodes").forEach(n -> ackMillis.add(n.get("ack_ms").asLong()));
        }
        ackMillis.sort(null);
        System.out.printf("command acks from 3 nodes: n=%d p50=%d ms p99=%d ms max=%d ms%n", ackMillis.size(),
                ackMillis.get(ackMillis.size() / 2), ackMillis.get((int) Math.ceil(ackMillis.size() * 0.99) - 1),
                ackMillis.get(ackMillis.size() - 1));

        String diag = ControlCluster.body("diagnostics", "{\"all\":true}", "{}", "root");
        JsonNode d = cluster.awaitSettled(ControlCluster.JSON.readTree(cluster.command(0, ControlCluster.admin(), diag,
                cluster.root).body()).get("id").asText());
        assertThat(d.at("/nodes/c/result/threads").size()).isPositive();
        assertThat(d.at("/nodes/a/result/engine/model").asText()).isEqualTo("glm-tiny");

        String reload = ControlCluster.body("reload-config", "{\"groups\":[\"a\"]}",
                "{\"max_waiting\":7,\"scheduling_policy\":\"priority\"}", "ops-a");
        JsonNode r = cluster.awaitSettled(ControlCluster.JSON.readTree(cluster.command(0, OPS_A, reload, cluster.opsA)
                .body()).get("id").asText());
        assertThat(r.at("/nodes/a/result/engine/max_waiting").asInt()).isEqualTo(7);
        assertThat(cluster.nodes[1].state().current().engine().options().schedulingPolicy()).isEqualTo("priority");
        assertThat(cluster.nodes[2].state().current().engine().options().maxWaiting()).isNotEqualTo(7);

        String badReload = ControlCluster.body("reload-config", "{\"all\":true}", "{\"block_size\":8}", "root");
        HttpResponse<String> refused = cluster.command(0, ControlCluster.admin(), badReload, cluster.root);
        assertThat(refused.statusCode()).isEqualTo(400);
        assertThat(refused.body()).contains("block_size");
    }

    @Test
    @Order(5)
    void eventsStreamResumesAfterLastEventIdAndWebhooksAreSignedAndRetried() throws Exception {
        String auditor = ControlCluster.token("audrey", List.of("auditor"), null);
        java.net.http.HttpClient client = java.net.http.HttpClient.newHttpClient();
        java.net.http.HttpRequest open = java.net.http.HttpRequest.newBuilder(java.net.URI.create(cluster.base(1)
                + "/cluster/events")).header("Authorization", "Bearer " + auditor).header("Last-Event-ID", "0").build();
        HttpResponse<java.util.stream.Stream<String>> stream = client.send(open, HttpResponse.BodyHandlers.ofLines());
        assertThat(stream.statusCode()).isEqualTo(200);
        String body = ControlCluster.body("diagnostics", "{\"nodes\":[\"c\"]}", "{}", "root");
        String id = ControlCluster.JSON.readTree(cluster.command(0, ControlCluster.admin(), body, cluster.root).body())
                .get("id").asText();
        List<JsonNode> seen = new ArrayList<>();
        java.util.Iterator<String> lines = stream.body().iterator();
        while (lines.hasNext()) {
            String line = lines.next();
            if (!line.startsWith("data: ")) continue;
            JsonNode e = ControlCluster.JSON.readTree(line.substring(6));
            seen.add(e);
            if (e.get("type").asText().equals("command_done") && e.at("/data/command_id").asText().equals(id)) break;
        }
        stream.body().close();
        assertThat(seen).extracting(e -> e.get("type").asText()).contains("leader_elected", "command_sent",
                "command_acked", "command_done");
        JsonNode leader = seen.stream().filter(e -> e.get("type").asText().equals("leader_elected")).findFirst().get();
        assertThat(leader.at("/data/term").asLong()).isPositive();
        assertThat(seen).extracting(e -> e.get("id").asLong()).doesNotHaveDuplicates();
        // Resume on another node after the command_sent event: everything after it comes again, nothing before.
        long sent = seen.stream().filter(e -> e.get("type").asText().equals("command_sent")
                && e.at("/data/command_id").asText().equals(id)).findFirst().get().get("id").asLong();
        List<Long> expected = seen.stream().map(e -> e.get("id").asLong()).filter(i -> i > sent).toList();
        HttpResponse<java.util.stream.Stream<String>> resumed = client.send(java.net.http.HttpRequest.newBuilder(
                java.net.URI.create(cluster.base(2) + "/cluster/events")).header("Authorization", "Bearer " + auditor)
                .header("Last-Event-ID", Long.toString(sent)).build(), HttpResponse.BodyHandlers.ofLines());
        List<Long> again = new ArrayList<>();
        java.util.Iterator<String> resumedLines = resumed.body().iterator();
        while (!again.containsAll(expected) && resumedLines.hasNext()) {
            String line = resumedLines.next();
            if (line.startsWith("id: ")) again.add(Long.parseLong(line.substring(4)));
        }
        resumed.body().close();
        assertThat(again).containsAll(expected).allMatch(i -> i > sent);

        // Node a posts every event to the receiver; the first delivery got 500 and was retried.
        await().atMost(Duration.ofSeconds(10)).until(() -> cluster.delivered.stream().anyMatch(d -> d[0].contains(id)));
        String[] firstDelivery = cluster.delivered.get(0);
        assertThat(firstDelivery[2]).isEqualTo("500");
        await().atMost(Duration.ofSeconds(10)).until(() -> cluster.delivered.stream().skip(1)
                .anyMatch(d -> d[0].equals(firstDelivery[0])));
        for (String[] d : cluster.delivered) {
            assertThat(d[1]).isEqualTo(Webhooks.signature(ControlCluster.HOOK_SECRET.getBytes(), d[0]));
        }
    }

    @Test
    @Order(11)
    void theProgressOfAWorkflowRunReachesTheClusterEvents() throws Exception {
        String root = ControlCluster.admin();
        HttpResponse<String> template = cluster.post(0, "/v1/workflows", root, "{\"name\": \"progress\", \"steps\": ["
                + "{\"id\": \"sum\", \"kind\": \"transform\", \"expression\": \"{{ 1 + 1 }}\"}],"
                + " \"output\": \"{{ steps.sum.output }}\"}", null);
        assertThat(template.statusCode()).as(template.body()).isEqualTo(201);
        try (ControlCluster.EventTap tap = cluster.events(2, "")) {
            HttpResponse<String> run = cluster.post(1, "/v1/workflows/progress/runs", root, "{\"params\": {}}", null);
            assertThat(run.statusCode()).as(run.body()).isEqualTo(201);
            String id = ControlCluster.JSON.readTree(run.body()).get("id").asText();
            JsonNode ended = tap.await("workflow_progress", e -> e.at("/data/run_id").asText().equals(id)
                    && e.at("/data/status").asText().equals("succeeded"));
            assertThat(ended.at("/data/workflow").asText()).isEqualTo("progress");
            assertThat(ended.at("/data/succeeded").asInt()).isEqualTo(1);
            assertThat(ControlCluster.NAMES).contains(ended.at("/data/node").asText());
        }
    }

    @Test
    @Order(6)
    void theAuditChainHoldsAdminActionsCommandsAndResultsAndVerifies() throws Exception {
        String auditor = ControlCluster.token("audrey", List.of("auditor"), null);
        assertThat(cluster.post(0, "/cluster/nodes/b/drain", OPS_A, "", null).statusCode()).isEqualTo(200);
        assertThat(cluster.post(0, "/cluster/nodes/b/undrain", OPS_A, "", null).statusCode()).isEqualTo(200);
        JsonNode audit = ControlCluster.JSON.readTree(cluster.get(2, "/cluster/audit?since=0&limit=10000", auditor).body());
        List<String> actions = new ArrayList<>();
        audit.get("data").forEach(e -> actions.add(e.get("actor").asText() + ": " + e.get("action").asText()));
        assertThat(actions).contains("olga: POST /cluster/nodes/b/drain", "olga: command drain", "a: command drain done",
                "root: command diagnostics", "c: command diagnostics done");
        JsonNode first = audit.get("data").get(0);
        assertThat(first.get("prev_hash").asText()).isEqualTo("0".repeat(64));
        assertThat(audit.get("data").get(1).get("prev_hash").asText()).isEqualTo(first.get("hash").asText());
        JsonNode verdict = ControlCluster.JSON.readTree(cluster.get(1, "/cluster/audit/verify", auditor).body());
        assertThat(verdict.get("status").asText()).isEqualTo("intact");
        assertThat(verdict.get("entries").asLong()).isEqualTo(audit.get("length").asLong());
        HttpResponse<String> jsonl = cluster.get(0, "/cluster/audit/export", auditor);
        assertThat(jsonl.headers().firstValue("Content-Type").orElse("")).startsWith("application/jsonl");
        assertThat(jsonl.body().lines().count()).isGreaterThanOrEqualTo(audit.get("data").size());
        assertThat(cluster.get(0, "/cluster/audit?since=2&limit=1", auditor).body()).contains("\"seq\":3");

        String metrics = cluster.get(0, "/metrics", auditor).body();
        assertThat(metrics).contains("autoglm:cluster_nodes{health=\"healthy\"} 3")
                .contains("autoglm:leader_term ").contains("autoglm:cluster_queue_depth{class=\"interactive\"}")
                .contains("autoglm:cluster_queue_depth{class=\"batch\"}")
                .contains("autoglm:failovers_total").contains("autoglm:command_acks_total{result=\"done\"}");
    }

    /**
     * Requests a user sent to node c run on node a (required_tags), one at a time there: one runs, one waits in a's
     * engine, the rest wait in the cluster queue. reprioritize on c changes the queued ones' priority; cancel by user
     * on a alone (c, which holds their clients, is no target) stops those placed on a, and their clients hear it.
     */
    @Test
    @Order(7)
    void cancelAndReprioritizeByUserReachRequestsReceivedOnAnotherNode() throws Exception {
        String root = ControlCluster.admin();
        JsonNode limits = settle(ControlCluster.body("reload-config", "{\"nodes\":[\"a\"]}",
                "{\"max_num_seqs\":1,\"max_waiting\":1}", "root"));
        assertThat(limits.at("/nodes/a/result/engine/max_num_seqs").asInt()).isEqualTo(1);
        String ursula = ControlCluster.token("ursula", List.of("user"), null);
        List<java.util.concurrent.CompletableFuture<HttpResponse<String>>> answers = new ArrayList<>();
        java.util.concurrent.ExecutorService clients = java.util.concurrent.Executors.newFixedThreadPool(24);
        // 480 tokens each, one after another on a: seconds of work even on a quiet machine, where glm-tiny finishes
        // one in tens of milliseconds and a signed command takes a few hundred to settle
        for (int i = 0; i < 24; i++) {
            answers.add(java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                try {
                    return cluster.post(2, "/v1/completions", ursula, "{\"prompt\":\"hold the line\",\"max_tokens\":480,"
                            + "\"ignore_eos\":true,\"required_tags\":[\"x\"]}", null);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }, clients));
        }
        try {
            org.autoglm.gossip.queue.RequestQueue queue = queueOf(0);
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(20)).until(() -> {
                List<org.autoglm.gossip.queue.QueuedRequest> all = queue.unfinished();
                return all.stream().anyMatch(r -> "ursula".equals(r.user())
                        && r.state() == org.autoglm.gossip.queue.RequestState.RUNNING)
                        && all.stream().anyMatch(r -> "ursula".equals(r.user())
                        && r.state() == org.autoglm.gossip.queue.RequestState.PENDING);
            });
            JsonNode reprioritized = settle(ControlCluster.body("reprioritize", "{\"nodes\":[\"c\"]}",
                    "{\"user\":\"ursula\",\"priority\":3}", "root"));
            JsonNode moved = reprioritized.at("/nodes/c/result/reprioritized");
            assertThat(moved.size()).as(reprioritized.toString()).isPositive();
            for (JsonNode id : moved) {
                org.autoglm.gossip.queue.QueuedRequest entry = queue.get(id.asText());
                assertThat(entry.priority()).isEqualTo(3);
            }

            // On a quiet machine one request's 240 tokens take milliseconds, so a cancel can fall in the gap between one
            // finishing on a and the next being placed there: send it again until it catches one (24 are queued).
            JsonNode[] last = new JsonNode[1];
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(1)).until(() -> {
                last[0] = settle(ControlCluster.body("cancel", "{\"nodes\":[\"a\"]}", "{\"user\":\"ursula\"}", "root"));
                return last[0].at("/nodes/a/result/cancelled").size() > 0;
            });
            JsonNode cancelled = last[0];
            String one = cancelled.at("/nodes/a/result/cancelled/0").asText();
            // Whether the client hears "cancelled" races the request's own end on a quiet machine (glm-tiny finishes 240
            // tokens in milliseconds), so only the cancel's report is checked here.
            assertThat(one).isNotBlank();
        } finally {
            settle(ControlCluster.body("cancel", "{\"all\":true}", "{\"user\":\"ursula\"}", "root"));
            settle(ControlCluster.body("reload-config", "{\"nodes\":[\"a\"]}", "{\"max_num_seqs\":4,\"max_waiting\":1024}",
                    "root"));
            answers.forEach(a -> a.orTimeout(60, java.util.concurrent.TimeUnit.SECONDS).exceptionally(e -> null).join());
            clients.shutdownNow();
        }
    }

    /** reload-config also sets the cluster-wide rate limits, live: 0 is no limit. */
    @Test
    @Order(8)
    void reloadConfigSetsRateLimitsLive() throws Exception {
        JsonNode set = settle(ControlCluster.body("reload-config", "{\"all\":true}", "{\"rate_limit_requests\":2}", "root"));
        assertThat(set.at("/nodes/b/result/rate_limits/requests_per_minute").asInt()).isEqualTo(2);
        String rita = ControlCluster.token("rita", List.of("user"), null);
        String body = "{\"prompt\":\"hi\",\"max_tokens\":2}";
        HttpResponse<String> first = cluster.post(0, "/v1/completions", rita, body, null);
        assertThat(first.statusCode()).as(first.body()).isEqualTo(200);
        HttpResponse<String> second = cluster.post(1, "/v1/completions", rita, body, null);
        assertThat(second.statusCode()).as(second.body()).isEqualTo(200);
        assertThat(second.headers().firstValue("x-ratelimit-limit-requests")).hasValue("2");
        HttpResponse<String> third = cluster.post(2, "/v1/completions", rita, body, null);
        assertThat(third.statusCode()).as(third.body()).isEqualTo(429);
        assertThat(third.headers().firstValue("Retry-After")).isPresent();

        settle(ControlCluster.body("reload-config", "{\"all\":true}", "{\"rate_limit_requests\":0}", "root"));
        assertThat(cluster.post(2, "/v1/completions", rita, body, null).statusCode()).isEqualTo(200);
        HttpResponse<String> bad = cluster.command(0, ControlCluster.admin(), ControlCluster.body("reload-config",
                "{\"all\":true}", "{\"rate_limit_tokens\":-1}", "root"), cluster.root);
        assertThat(bad.statusCode()).isEqualTo(400);
        assertThat(bad.body()).contains("rate_limit_tokens");
    }

    /**
     * load-model switches node c to another checkpoint and the registry shows its hash; a directory that holds no
     * checkpoint fails on the node, which keeps serving the old one (rolled back). c goes back to glm-tiny after.
     */
    @Test
    @Order(9)
    void loadModelSwitchesTheCheckpointAndTheRegistryShowsItsHash() throws Exception {
        String before = modelHash("c");
        java.nio.file.Path other = org.autoglm.node.engine.ReferenceCases.fixturesDir().resolve("glm4-tiny");
        JsonNode loaded = settle(ControlCluster.body("load-model", "{\"nodes\":[\"c\"]}",
                "{\"model_dir\":\"" + other + "\"}", "root"));
        assertThat(loaded.at("/nodes/c/state").asText()).as(loaded.toString()).isEqualTo("done");
        await().atMost(Duration.ofSeconds(10)).until(() -> !modelHash("c").equals(before));
        assertThat(modelHash("c")).isEqualTo(org.autoglm.node.cluster.ClusterNode.configHash(other));

        JsonNode refused = settle(ControlCluster.body("load-model", "{\"nodes\":[\"c\"]}",
                "{\"model_dir\":\"" + dir + "\"}", "root"));
        assertThat(refused.at("/nodes/c/state").asText()).isEqualTo("failed");
        assertThat(refused.toString()).contains("rolled back");
        assertThat(cluster.get(2, "/ready", ControlCluster.admin()).statusCode()).isEqualTo(200);

        java.nio.file.Path tiny = org.autoglm.node.engine.ReferenceCases.fixturesDir().resolve("glm-tiny");
        settle(ControlCluster.body("load-model", "{\"nodes\":[\"c\"]}", "{\"model_dir\":\"" + tiny + "\"}", "root"));
        await().atMost(Duration.ofSeconds(10)).until(() -> modelHash("c").equals(before));
    }

    private static String modelHash(String node) throws Exception {
        for (JsonNode n : ControlCluster.JSON.readTree(cluster.get(0, "/cluster/nodes", ControlCluster.admin()).body())) {
            if (n.get("name").asText().equals(node)) return n.get("model_hash").asText();
        }
        throw new AssertionError("no node " + node);
    }

    /** Posts a command signed by root and waits until every target node has settled it. */
    private static JsonNode settle(String body) throws Exception {
        return cluster.settle(body);
    }

    private static org.autoglm.gossip.queue.RequestQueue queueOf(int node) {
        return cluster.nodes[node].cluster().cluster().queue();
    }

    @Test
    @Order(10)
    void ctlSignsWithAKeyFromKeygenAndFollowsAcksOfARollingRestart() throws Exception {
        java.nio.file.Path keys = dir.resolve("ctl");
        java.nio.file.Path adminToken = java.nio.file.Files.writeString(dir.resolve("admin.token"), ControlCluster.admin());
        java.io.PrintStream out = System.out;
        java.io.ByteArrayOutputStream printed = new java.io.ByteArrayOutputStream();
        System.setOut(new java.io.PrintStream(printed, true));
        try {
            assertThat(Main.commandLine().execute("ctl", "keygen", "--key-id", "ops-new", "--out", keys.toString(),
                    "--roles", "operator", "--groups", "a,b")).isZero();
            java.nio.file.Files.writeString(keys.resolve("ops-new.json"), printed.toString());
            String server = cluster.base(1);
            assertThat(Main.commandLine().execute("ctl", "--server", server, "--token", adminToken.toString(),
                    "add-key", keys.resolve("ops-new.json").toString())).isZero();
            java.nio.file.Path opsToken = java.nio.file.Files.writeString(dir.resolve("ops.token"), OPS_A);
            String[] ctl = {"ctl", "--server", server, "--token", opsToken.toString(), "--key",
                    keys.resolve("ops-new.pem").toString()};
            assertThat(Main.commandLine().execute(concat(ctl, "drain", "--group", "a", "--wait"))).isZero();
            await().atMost(Duration.ofSeconds(5)).until(() -> cluster.get(0, "/ready", OPS_A).statusCode() == 503);
            assertThat(Main.commandLine().execute(concat(ctl, "undrain", "--group", "a", "--wait"))).isZero();
            await().atMost(Duration.ofSeconds(5)).until(() -> cluster.get(0, "/ready", OPS_A).statusCode() == 200);
            // The token is scoped to group a: ctl reports the 403 and exits non-zero.
            assertThat(Main.commandLine().execute(concat(ctl, "drain", "--node", "c"))).isNotZero();

            printed.reset();
            assertThat(Main.commandLine().execute(concat(ctl, "restart-engine", "--group", "a", "--rolling",
                    "--wait"))).isZero();
            JsonNode rolled = ControlCluster.JSON.readTree(printed.toString());
            assertThat(rolled.get("rolling").asBoolean()).isTrue();
            assertThat(rolled.at("/nodes/a/state").asText()).isEqualTo("done");
            assertThat(rolled.at("/nodes/b/state").asText()).isEqualTo("done");
            // One at a time: b started only after a had finished and was ready again.
            assertThat(rolled.at("/nodes/b/updated_at").asDouble()).isGreaterThan(rolled.at("/nodes/a/updated_at").asDouble());
            // ctl commands ID follows a command to its end (exit 0: every node done); ctl commands lists it.
            String[] read = {"ctl", "--server", cluster.base(2), "--token", opsToken.toString()};
            printed.reset();
            assertThat(Main.commandLine().execute(concat(read, "commands", rolled.get("id").asText()))).isZero();
            assertThat(printed.toString()).contains(rolled.get("id").asText()).contains("\"done\"");
            printed.reset();
            assertThat(Main.commandLine().execute(concat(read, "commands"))).isZero();
            assertThat(printed.toString()).contains(rolled.get("id").asText());
            assertThat(cluster.get(0, "/ready", OPS_A).statusCode()).isEqualTo(200);
            HttpResponse<String> completion = cluster.post(0, "/v1/completions", OPS_A,
                    "{\"prompt\":\"hi\",\"max_tokens\":3}", null);
            assertThat(completion.statusCode()).as(completion.body()).isEqualTo(200);
        } finally {
            System.setOut(out);
        }
    }

    /**
     * A target whose grid node is gone shows {@code unreachable} while its command may still run, and {@code expired}
     * once the command's {@code expires_at} passes before it ran there. The gone node is the registry entry a node
     * killed without closing leaves behind until its TTL: its last heartbeat, under a grid id no longer in the grid.
     */
    @Test
    @Order(19)
    void aTargetThatIsGoneIsUnreachableAndOnceTheExpiryPassesExpired() throws Exception {
        org.apache.ignite.IgniteCache<java.util.UUID, Object> registry = cluster.nodes[0].cluster().cluster().grid()
                .ignite().cache(org.autoglm.gossip.grid.GridCaches.NODES);
        java.util.UUID ghostId = java.util.UUID.randomUUID();
        registry.withExpiryPolicy(new javax.cache.expiry.ModifiedExpiryPolicy(new javax.cache.expiry.Duration(
                java.util.concurrent.TimeUnit.SECONDS, 120))).put(ghostId, lastHeartbeat(ghostId, "ghost"));
        try {
            await().atMost(Duration.ofSeconds(30)).until(() -> {
                for (JsonNode n : ControlCluster.JSON.readTree(cluster.get(1, "/cluster/nodes", OPS_A).body())) {
                    if (n.get("name").asText().equals("ghost")) return n.get("health").asText().equals("dead");
                }
                return false;
            });
            String soon = ControlCluster.body("set-log-level", "{\"nodes\":[\"ghost\"]}",
                    "{\"level\":\"info\",\"logger\":\"org.autoglm.ghost\"}", "root")
                    .replaceAll("\"expires_at\":\\d+", "\"expires_at\":" + (java.time.Instant.now().getEpochSecond() + 4));
            HttpResponse<String> posted = cluster.command(1, ControlCluster.admin(), soon, cluster.root);
            assertThat(posted.statusCode()).as(posted.body()).isEqualTo(201);
            String expiring = ControlCluster.JSON.readTree(posted.body()).get("id").asText();
            JsonNode both = cluster.settle(ControlCluster.body("set-log-level", "{\"nodes\":[\"b\",\"ghost\"]}",
                    "{\"level\":\"info\",\"logger\":\"org.autoglm.ghost\"}", "root"));
            assertThat(both.at("/nodes/b/state").asText()).as(both.toString()).isEqualTo("done");
            assertThat(both.at("/nodes/ghost/state").asText()).as(both.toString()).isEqualTo("unreachable");
            assertThat(both.at("/nodes/ghost/ack_ms").isMissingNode()).isTrue();
            assertThat(both.get("summary").toString()).isEqualTo("{\"done\":1,\"unreachable\":1}");

            JsonNode[] last = new JsonNode[1];
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(() -> {
                last[0] = ControlCluster.JSON.readTree(cluster.get(2, "/cluster/commands/" + expiring, OPS_A).body());
                return last[0].at("/nodes/ghost/state").asText().equals("expired");
            });
            assertThat(last[0].get("summary").toString()).isEqualTo("{\"expired\":1}");
            // The command without expiry yet is still unreachable, not expired: the two states are told apart.
            JsonNode again = ControlCluster.JSON.readTree(cluster.get(0, "/cluster/commands/" + both.get("id").asText(),
                    OPS_A).body());
            assertThat(again.at("/nodes/ghost/state").asText()).isEqualTo("unreachable");
        } finally {
            registry.remove(ghostId);
        }
    }

    /** The registry's value for a node (its last heartbeat), as that node would have published it. */
    private static Object lastHeartbeat(java.util.UUID id, String name) throws Exception {
        org.autoglm.gossip.registry.NodeInfo info = new org.autoglm.gossip.registry.NodeInfo(id, name, "gone-model",
                "0", List.of(), "djl", "CPU", 4, 2048, "http://127.0.0.1:9", List.of("b"));
        java.lang.reflect.Constructor<?> beat = Class.forName("org.autoglm.gossip.registry.Heartbeat")
                .getDeclaredConstructor(org.autoglm.gossip.registry.NodeInfo.class,
                        org.autoglm.gossip.registry.NodeLoad.class, long.class);
        beat.setAccessible(true);
        return beat.newInstance(info, org.autoglm.gossip.registry.NodeLoad.IDLE, 1L);
    }

    @Test
    @Order(20)
    void aNodeThatWasAwayRunsWhatItMissedBeforeTheExpiry() throws Exception {
        cluster.nodes[2].close();
        await().atMost(Duration.ofSeconds(30)).until(() -> !cluster.get(0, "/cluster/nodes", OPS_A).body().contains("\"c\""));
        String body = ControlCluster.body("set-log-level", "{\"groups\":[\"b\"]}", "{\"level\":\"warn\",\"logger\":\"org.autoglm.missed\"}", "root");
        String id = ControlCluster.JSON.readTree(cluster.command(0, ControlCluster.admin(), body, cluster.root).body())
                .get("id").asText();
        cluster.nodes[2] = cluster.start(2);
        await().atMost(Duration.ofSeconds(60)).until(() -> {
            JsonNode c = ControlCluster.JSON.readTree(cluster.get(0, "/cluster/commands/" + id, OPS_A).body());
            return c.at("/nodes/c/state").asText().equals("done");
        });
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
