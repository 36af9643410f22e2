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
import org.autoglm.node.cluster.ServeProcess;
import org.autoglm.node.control.CommandSignature;
import org.autoglm.node.engine.ReferenceCases;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.WebElement;

/**
 * The console in a real headless Chromium against three {@code serve} processes of the jar on loopback (p0 and p1 in
 * group a, p2 in group b), in one browser session: the page shows the three nodes and the leader; draining group a
 * from the page (a command signed in the browser) shows each node's ack; after {@code kill -9} of the leader the page
 * shows the new leader within 5 s; a user token sees no operator control; every control has an accessible name and
 * is reached by Tab; text meets AA contrast. Screenshots go to target/console/ (the frame-time measurement of a
 * simulated feed is {@link ConsoleFrameTimesIT}).
 */
class ConsoleProcessesIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int GRID = 33200 + Integer.getInteger("autoglm.test.portOffset", 0);
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
                "groups", List.of("a")))));
        Path model = ReferenceCases.fixturesDir().resolve("glm-tiny");
        for (int i = 0; i < 3; i++) {
            nodes.add(new ServeProcess("p" + i, jar, model, GRID + i, PEERS, 3, OUT, "--groups", i < 2 ? "a" : "b",
                    "--jwt-secret-file", secret.toString(), "--command-keys",
                    OUT.resolve("command-keys.json").toString()));
        }
        for (ServeProcess node : nodes) { // one at a time: three JVMs starting at once starve a small machine
            node.start();
            await().atMost(Duration.ofSeconds(300)).until(() -> node.status("/health") == 200);
        }
        for (ServeProcess node : nodes) {
            await().atMost(Duration.ofSeconds(300)).until(() -> node.status("/ready") == 200);
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

        // kill -9 of the leader: the page shows the new leader within 5 s.
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

    private static String token(String subject, List<String> roles) throws Exception {
        JWTClaimsSet claims = new JWTClaimsSet.Builder().subject(subject).claim("roles", roles)
                .expirationTime(Date.from(Instant.now().plusSeconds(900))).build();
        SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), claims);
        jwt.sign(new MACSigner(SECRET.getBytes()));
        return jwt.serialize();
    }
}
