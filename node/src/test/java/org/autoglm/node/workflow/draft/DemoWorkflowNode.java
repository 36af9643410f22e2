package org.autoglm.node.workflow.draft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.autoglm.node.cli.DemoModel;
import org.autoglm.node.cli.ServeCommand;
import picocli.CommandLine;

/**
 * One real node serving the random demo model on a one-node grid, started once per test JVM and shared by the
 * workflow edge tests (drafts, bulk runs, the CLI): loading the model and the grid costs more than those tests do.
 */
public final class DemoWorkflowNode {

    public static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    /** This node's grid port (communication on + 1000). */
    private static final int GRID_PORT = 21100 + Integer.getInteger("autoglm.test.portOffset", 0);
    private static String base;

    private DemoWorkflowNode() {}

    /** {@code http://127.0.0.1:PORT} of the node, started on first use. */
    public static synchronized String base() throws Exception {
        if (base == null) {
            Path model = Files.createDirectories(Path.of("target", "wfedge-" + System.nanoTime())).resolve("demo");
            DemoModel.write(model);
            CommandLine cli = new CommandLine(new ServeCommand());
            cli.parseArgs("--model", model.toString(), "--port", "0", "--grid-port", String.valueOf(GRID_PORT),
                    "--peers", "127.0.0.1:" + GRID_PORT);
            ServeCommand.RunningNode node = ((ServeCommand) cli.getCommand()).start();
            Runtime.getRuntime().addShutdownHook(new Thread(node::close));
            await().atMost(Duration.ofSeconds(180)).until(() -> node.state().isReady()
                    || String.valueOf(node.state().notReadyReason()).startsWith("model failed"));
            assertThat(node.state().notReadyReason()).isNull();
            base = "http://127.0.0.1:" + node.port();
        }
        return base;
    }

    public static HttpResponse<String> get(String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(base() + path)).timeout(Duration.ofSeconds(180)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    public static HttpResponse<String> post(String path, String body) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(base() + path)).timeout(Duration.ofSeconds(180))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** Uploads {@code jsonl} through the Files API (purpose batch); returns the file's id. */
    public static String upload(String jsonl) throws Exception {
        String boundary = "----wfedge" + System.nanoTime();
        String body = "--" + boundary + "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n--"
                + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"params.jsonl\"\r\n"
                + "Content-Type: application/jsonl\r\n\r\n" + jsonl + "\r\n--" + boundary + "--\r\n";
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(base() + "/v1/files"))
                .timeout(Duration.ofSeconds(60)).header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return JSON.readTree(r.body()).get("id").asText();
    }
}
