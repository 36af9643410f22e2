package org.autoglm.node.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.autoglm.node.cli.ServeCommand;
import org.autoglm.node.engine.ReferenceCases;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** A node that sees only itself of three expected ones takes no work, and {@code /ready} says so with the reason. */
class MinorityReadyTest {

    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @Test
    void aNodeWithoutTheMajorityIsNotReady() throws Exception {
        CommandLine cli = new CommandLine(new ServeCommand());
        cli.parseArgs("--model", ReferenceCases.fixturesDir().resolve("glm-tiny").toString(), "--port", "0",
                "--num-kv-blocks", "64",
                "--block-size", "4", "--node-name", "alone", "--grid-port", "27760",
                "--peers", "127.0.0.1:27760..27762", "--expected-nodes", "3");
        try (ServeCommand.RunningNode node = ((ServeCommand) cli.getCommand()).start()) {
            // Loaded, so the only reason left not to be ready is the missing majority.
            await().atMost(Duration.ofSeconds(120)).until(() -> node.state().current() != null
                    || node.state().notReadyReason().startsWith("model failed"));
            assertThat(node.state().current()).as(node.state().notReadyReason()).isNotNull();

            HttpResponse<String> ready = HTTP.send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + node.port() + "/ready")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(ready.statusCode()).isEqualTo(503);
            String message = new ObjectMapper().readTree(ready.body()).path("error").path("message").asText();
            assertThat(message).contains("1 of 3 expected cluster nodes").contains("no majority");
        }
    }

}
