package org.autoglm.node.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.autoglm.node.engine.ReferenceCases;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@code java -jar autoglm-node.jar serve --backend cpu} started the way the README says, without
 * {@code --add-modules}: the jar starts a second JVM with {@code jdk.incubator.vector} ({@link VectorModuleRelaunch}),
 * which serves, with the young generation capped; the JVM's incubator notice is dropped from stderr; and killing the first process with SIGKILL takes
 * the second down with it (it watches its stdin pipe), while SIGTERM stops both gracefully.
 */
class VectorModuleRelaunchProcessesIT {

    /** This test's own grid port (communication: + 1000), apart from every other test's. */
    private static final int GRID_PORT = 21600;
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private Process parent;
    private ProcessHandle child;

    @AfterEach
    void stop() {
        if (parent != null) parent.destroyForcibly();
        if (child != null) child.destroyForcibly();
    }

    @Test
    void theJarRelaunchesItselfWithTheVectorModuleAndTheTwoProcessesDieTogether() throws Exception {
        // Set by the surefire execution that runs after package; a plain test run would find no jar or a stale one.
        assumeTrue(System.getProperty("autoglm.node.jar") != null, "runs in the integration-test phase (mvn verify)");
        Path jar = Path.of(System.getProperty("autoglm.node.jar"));
        assertThat(jar).as("the packaged jar (this test runs after mvn package)").exists();
        Path model = ReferenceCases.fixturesDir().resolve("glm-tiny");
        Path logs = Files.createDirectories(Path.of("target", "relaunch-processes"));
        Path stderr = logs.resolve("stderr.log");
        int httpPort = org.autoglm.node.cluster.ServeProcess.httpPortFor(GRID_PORT);
        ProcessBuilder builder = new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx512m", "-jar", jar.toString(),
                "serve", "--model", model.toString(), "--backend", "cpu", "--threads", "1", "--port",
                Integer.toString(httpPort), "--num-kv-blocks", "64", "--grid-port", Integer.toString(GRID_PORT))
                .redirectOutput(ProcessBuilder.Redirect.appendTo(logs.resolve("stdout.log").toFile()))
                .redirectError(stderr.toFile());
        builder.environment().remove("JDK_JAVA_OPTIONS");
        builder.environment().remove("AUTOGLM_RELAUNCH");
        builder.environment().remove(VectorModuleRelaunch.CHILD_MARKER);
        parent = builder.start();

        // the second JVM: the same jar and arguments, with the module added
        await().atMost(Duration.ofSeconds(60)).until(() -> {
            assertThat(parent.isAlive()).as("serve exited: %s", Files.readString(stderr)).isTrue();
            return relaunched().isPresent();
        });
        child = relaunched().orElseThrow();
        assertThat(child.info().arguments().map(List::of).orElseThrow())
                .contains("--add-modules=jdk.incubator.vector", "-Xmx512m", VectorModuleRelaunch.YOUNG_GENERATION,
                        VectorModuleRelaunch.GC_TIME_RATIO, VectorModuleRelaunch.HEAP_FREE_RATIOS.get(0),
                        VectorModuleRelaunch.HEAP_FREE_RATIOS.get(1), "serve", "--backend", "cpu");
        await().atMost(Duration.ofSeconds(120)).until(() -> {
            assertThat(parent.isAlive()).as("serve exited: %s", Files.readString(stderr)).isTrue();
            return status(httpPort, "/ready") == 200;
        });

        // it serves on the CPU backend: a greedy completion of glm-tiny
        HttpResponse<String> answer = HTTP.send(HttpRequest.newBuilder(uri(httpPort, "/v1/completions"))
                .timeout(Duration.ofSeconds(60)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(
                        "{\"prompt\":[10,11,12,13],\"max_tokens\":4,\"temperature\":0,\"ignore_eos\":true}"))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
        assertThat(answer.body()).contains("\"completion_tokens\":4");
        assertThat(Files.readString(stderr)).doesNotContain("Using incubator modules");

        // SIGKILL to the first process: nothing runs in it, yet the second halts by itself
        parent.destroyForcibly().waitFor();
        await().atMost(Duration.ofSeconds(20)).until(() -> !child.isAlive());
        await().atMost(Duration.ofSeconds(5)).until(() -> status(httpPort, "/health") == -1);
    }

    /** A java child of the first process whose arguments add the module. */
    private Optional<ProcessHandle> relaunched() {
        return parent.toHandle().children()
                .filter(p -> p.info().arguments().map(List::of).orElse(List.of())
                        .contains("--add-modules=" + VectorModuleRelaunch.MODULE))
                .findFirst();
    }

    private static URI uri(int port, String path) {
        return URI.create("http://127.0.0.1:" + port + path);
    }

    private static int status(int port, String path) {
        try {
            return HTTP.send(HttpRequest.newBuilder(uri(port, path)).timeout(Duration.ofSeconds(2)).GET().build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (java.io.IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }
}
