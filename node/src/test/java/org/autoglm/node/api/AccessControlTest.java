package org.autoglm.node.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.autoglm.node.plugins.Plugins;
import org.autoglm.node.security.Authenticator;
import org.autoglm.node.security.JwtVerifier;
import org.autoglm.node.security.JwtVerifierTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Each JWT role against each endpoint, plus missing, expired and forged tokens, session ownership and the per-user
 * session limit.
 */
class AccessControlTest {

    @TempDir
    static Path dir;

    static ScriptedServer api;
    static Http anonymous;
    static String sessionOfUser;
    static final int SESSION_LIMIT = 3;

    /** An endpoint call; {@code allowed} are the roles (besides admin) that may make it. */
    record Endpoint(String method, String path, String body, Set<String> allowed) {}

    static final List<Endpoint> ENDPOINTS = List.of(
            new Endpoint("GET", "/v1/models", null, Set.of("user", "operator")),
            new Endpoint("POST", "/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", Set.of("user", "operator")),
            new Endpoint("POST", "/v1/completions", "{\"prompt\":\"hi\"}", Set.of("user", "operator")),
            new Endpoint("POST", "/v1/sessions", "{}", Set.of("user", "operator")),
            new Endpoint("GET", "/v1/sessions/sess-unknown", null, Set.of("user", "operator")),
            new Endpoint("DELETE", "/v1/sessions/sess-unknown", null, Set.of("user", "operator")),
            new Endpoint("GET", "/metrics", null, Set.of("auditor", "operator")),
            new Endpoint("GET", "/admin/audit", null, Set.of("auditor")),
            new Endpoint("GET", "/admin/requests", null, Set.of("operator")),
            new Endpoint("POST", "/admin/requests/cmpl-unknown/cancel", "", Set.of("operator")),
            new Endpoint("POST", "/admin/undrain", "", Set.of("operator")),
            new Endpoint("GET", "/cluster/ping", null, Set.of("operator")), // added through extraRoutes
            new Endpoint("GET", "/cluster/secret", null, Set.of())); // no role given: admins only

    @BeforeAll
    static void start() throws Exception {
        Path secret = JwtVerifierTest.secretFile(dir);
        Plugins plugins = Plugins.load(List.of("audit-log"), Map.of("audit-log", Map.of("file", dir.resolve("audit.jsonl").toString())));
        Authenticator auth = Authenticator.jwt(JwtVerifier.hs256(secret));
        api = ScriptedServer.start(new CharModel("m", 256), c -> {
            c.auth = auth;
            c.plugins = plugins;
            c.maxSessionsPerUser = SESSION_LIMIT;
            c.extraRoutes = (app, read, operate) -> {
                app.get("/cluster/ping", ctx -> ctx.result("pong"), operate);
                app.get("/cluster/secret", ctx -> ctx.result("no role given"));
            };
        });
        anonymous = new Http(api.port());
    }

    @AfterAll
    static void stop() {
        api.close();
    }

    static Http as(String subject, String... roles) throws Exception {
        return anonymous.withToken(JwtVerifierTest.hs256(subject, List.of(roles), Instant.now().plusSeconds(300)));
    }

    static Http.Response call(Http h, Endpoint e) {
        return switch (e.method()) {
            case "GET" -> h.get(e.path());
            case "DELETE" -> h.delete(e.path());
            default -> h.post(e.path(), e.body());
        };
    }

    @Test
    void eachRoleOnEachEndpoint() throws Exception {
        for (String role : List.of("user", "operator", "auditor", "admin")) {
            Http h = as("someone-" + role, role);
            for (Endpoint e : ENDPOINTS) {
                Http.Response r = call(h, e);
                String what = role + " " + e.method() + " " + e.path() + " -> " + r.status() + " " + r.body();
                if (role.equals("admin") || e.allowed().contains(role)) {
                    assertThat(r.status()).as(what).isNotIn(401, 403);
                    assertThat(r.status()).as(what).isLessThan(500);
                } else {
                    assertThat(r.status()).as(what).isEqualTo(403);
                    assertThat(r.json().at("/error/type").asText()).isEqualTo("permission_error");
                }
            }
        }
    }

    @Test
    void probesNeedNoToken_everythingElseDoes() {
        assertThat(anonymous.get("/health").status()).isEqualTo(200);
        assertThat(anonymous.get("/ready").status()).isEqualTo(200);
        for (Endpoint e : ENDPOINTS) {
            Http.Response r = call(anonymous, e);
            assertThat(r.status()).as(e.path()).isEqualTo(401);
            assertThat(r.headers().firstValue("WWW-Authenticate")).contains("Bearer");
            assertThat(r.json().at("/error/type").asText()).isEqualTo("authentication_error");
        }
    }

    @Test
    void expiredAndGarbageTokensAre401() throws Exception {
        Http expired = anonymous.withToken(JwtVerifierTest.hs256("u", List.of("admin"), Instant.now().minusSeconds(600)));
        Http.Response r = expired.get("/v1/models");
        assertThat(r.status()).isEqualTo(401);
        assertThat(r.json().at("/error/message").asText()).contains("expired");
        assertThat(anonymous.withToken("garbage").get("/v1/models").status()).isEqualTo(401);
    }

    @Test
    void rolesAsAString_is401_neverAdmin() throws Exception {
        String payload = "{\"sub\":\"eve\",\"roles\":\"user admin\",\"exp\":" + (Instant.now().getEpochSecond() + 300) + "}";
        Http eve = anonymous.withToken(JwtVerifierTest.hs256Raw(payload,
                new com.nimbusds.jose.JWSHeader(com.nimbusds.jose.JWSAlgorithm.HS256)));
        Http.Response r = eve.get("/admin/requests");
        assertThat(r.status()).isEqualTo(401);
        assertThat(r.json().at("/error/message").asText()).contains("JSON list");
    }

    @Test
    void onlyUnknownRoles_is403() throws Exception {
        Http.Response r = as("pirate", "pirate").get("/v1/models");
        assertThat(r.status()).isEqualTo(403);
        assertThat(r.json().at("/error/type").asText()).isEqualTo("permission_error");
    }

    @Test
    void usersSeeOnlyTheirOwnSessions_adminsSeeAll() throws Exception {
        Http alice = as("alice", "user");
        String id = alice.post("/v1/sessions", "{\"system_prompt\":\"x\"}").json().get("id").asText();
        assertThat(alice.get("/v1/sessions/" + id).status()).isEqualTo(200);
        Http bob = as("bob", "user");
        assertThat(bob.get("/v1/sessions/" + id).status()).isEqualTo(404);
        assertThat(bob.post("/v1/chat/completions", "{\"session_id\":\"" + id
                + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}").status()).isEqualTo(404);
        assertThat(bob.delete("/v1/sessions/" + id).status()).isEqualTo(404);
        assertThat(as("root", "admin").get("/v1/sessions/" + id).json().get("owner").asText()).isEqualTo("alice");
    }

    @Test
    void aUserHoldsAtMostTheSessionLimit() throws Exception {
        Http carol = as("carol", "user");
        List<String> ids = new java.util.ArrayList<>();
        for (int i = 0; i < SESSION_LIMIT; i++) ids.add(carol.post("/v1/sessions", "{}").json().get("id").asText());
        Http.Response refused = carol.post("/v1/sessions", "{}");
        assertThat(refused.status()).isEqualTo(429);
        assertThat(refused.json().at("/error/code").asText()).isEqualTo("too_many_sessions");
        assertThat(refused.json().at("/error/message").asText()).contains("hold 3 sessions").contains("limit is 3")
                .contains("DELETE /v1/sessions/");
        assertThat(as("dave", "user").post("/v1/sessions", "{}").status()).as("another user is not limited by carol's").isEqualTo(200);

        assertThat(carol.delete("/v1/sessions/" + ids.get(0)).status()).isEqualTo(200);
        assertThat(carol.post("/v1/sessions", "{}").status()).isEqualTo(200);
    }

    @Test
    void theOpenAiSdkSendsTheTokenAsItsApiKey() throws Exception {
        String userToken = JwtVerifierTest.hs256("sdk-user", List.of("user"), Instant.now().plusSeconds(300));
        var client = com.openai.client.okhttp.OpenAIOkHttpClient.builder().baseUrl(anonymous.base + "/v1")
                .apiKey(userToken).maxRetries(0).build();
        try {
            var params = com.openai.models.chat.completions.ChatCompletionCreateParams.builder().model("m")
                    .addUserMessage("hi").build();
            assertThat(client.chat().completions().create(params).choices()).hasSize(1);
            var auditor = com.openai.client.okhttp.OpenAIOkHttpClient.builder().baseUrl(anonymous.base + "/v1")
                    .apiKey(uncheckedToken("sdk-auditor", "auditor")).maxRetries(0).build();
            try {
                org.assertj.core.api.Assertions.assertThatThrownBy(() -> auditor.chat().completions().create(params))
                        .isInstanceOf(com.openai.errors.PermissionDeniedException.class);
            } finally {
                auditor.close();
            }
        } finally {
            client.close();
        }
    }

    static String uncheckedToken(String subject, String role) {
        try {
            return JwtVerifierTest.hs256(subject, List.of(role), Instant.now().plusSeconds(300));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void auditorReadsWhoDidWhat() throws Exception {
        as("dave", "user").post("/v1/completions", "{\"prompt\":\"secret prompt\",\"max_tokens\":2}");
        Http.Response r = as("eve", "auditor").get("/admin/audit?limit=50");
        assertThat(r.status()).isEqualTo(200);
        var entries = r.json().get("data");
        var dave = java.util.stream.StreamSupport.stream(entries.spliterator(), false)
                .filter(n -> n.get("subject").asText().equals("dave")).findFirst().orElseThrow();
        assertThat(dave.get("route").asText()).isEqualTo("/v1/completions");
        assertThat(dave.get("status").asInt()).isEqualTo(200);
        assertThat(dave.get("completion_tokens").asInt()).isEqualTo(2);
        assertThat(dave.get("roles").get(0).asText()).isEqualTo("user");
        assertThat(dave.has("prompt")).isFalse(); // prompts are only logged when configured
        assertThat(as("eve", "auditor").get("/admin/audit?limit=0").status()).isEqualTo(400);
    }

    @Test
    void auditRecordsRefusedTokensAndOperatorActions() throws Exception {
        assertThat(anonymous.get("/admin/requests").status()).isEqualTo(401);
        assertThat(as("mallory", "user").post("/admin/drain", "").status()).isEqualTo(403);
        assertThat(as("olga", "operator").post("/admin/requests/cmpl-gone/cancel", "").status()).isEqualTo(404);
        assertThat(as("olga", "operator").post("/admin/drain", "").status()).isEqualTo(200);
        assertThat(as("olga", "operator").post("/admin/undrain", "").status()).isEqualTo(200);

        var entries = java.util.stream.StreamSupport.stream(
                as("eve", "auditor").get("/admin/audit?limit=1000").json().get("data").spliterator(), false).toList();
        var unauthenticated = entries.stream().filter(n -> n.path("event").asText().equals("auth_failure")
                && n.path("status").asInt() == 401 && n.path("route").asText().equals("/admin/requests")).toList();
        assertThat(unauthenticated).isNotEmpty();
        assertThat(unauthenticated.get(0).get("subject").isNull()).isTrue();
        var forbidden = entries.stream().filter(n -> n.path("subject").asText().equals("mallory")).toList();
        assertThat(forbidden).hasSize(1);
        assertThat(forbidden.get(0).get("event").asText()).isEqualTo("auth_failure");
        assertThat(forbidden.get(0).get("status").asInt()).isEqualTo(403);
        assertThat(forbidden.get(0).get("method").asText()).isEqualTo("POST");
        assertThat(forbidden.get(0).get("route").asText()).isEqualTo("/admin/drain");
        assertThat(forbidden.get(0).get("roles").get(0).asText()).isEqualTo("user");
        var actions = entries.stream().filter(n -> n.path("subject").asText().equals("olga"))
                .map(n -> n.get("event").asText() + " " + n.get("status").asInt() + " " + n.get("detail").asText())
                .toList();
        assertThat(actions).containsExactly("admin_action 404 cancel cmpl-gone", "admin_action 200 drain",
                "admin_action 200 undrain");
    }
}
