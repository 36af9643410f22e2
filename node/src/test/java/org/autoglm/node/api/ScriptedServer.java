package org.autoglm.node.api;

import java.net.http.HttpClient;
import java.time.Duration;
import java.util.function.Consumer;
import org.autoglm.node.telemetry.Telemetry;

/**
 * The set-up most HTTP tests share: an API server on an ephemeral loopback port, serving {@code model} with a
 * {@link ScriptedEngine}, and an HTTP/1.1 client for it. {@code configure} adds the test's own settings (limits,
 * sessions, auth) to the port, state and telemetry set here. Script the engine before the first request.
 */
final class ScriptedServer implements AutoCloseable {

    final ScriptedEngine engine = new ScriptedEngine();
    final ServingState state = new ServingState();
    final Telemetry telemetry;
    final ApiServer server;
    final Http http;

    private ScriptedServer(ServedModel model, Consumer<ApiServer.Config> configure) {
        telemetry = new Telemetry(model.name(), state::load, null, null);
        server = ApiServer.create(c -> {
            c.port = 0;
            configure.accept(c);
            c.state = state;
            c.telemetry = telemetry;
        }).start();
        state.ready(new ServingState.Loaded(model, engine, engine));
        http = new Http("http://127.0.0.1:" + server.port(),
                HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build());
    }

    static ScriptedServer start(ServedModel model, Consumer<ApiServer.Config> configure) {
        return new ScriptedServer(model, configure);
    }

    int port() {
        return server.port();
    }

    @Override
    public void close() {
        server.close();
        telemetry.close();
        engine.shutdown();
    }
}
