package org.autoglm.node.cluster;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** One {@code serve} process of the real jar on loopback, started and killed by the test that owns it. */
public final class ServeProcess {

    static {
        // Pooled connections are dropped after 20 s, under the nodes' 30 s --idle-timeout: the long fault run's seed 49
        // (stop 30) sent a request on a connection the node closed for idleness at that moment ("header parser received
        // no bytes" 20 ms later, no fault near), and the checker counted that request, which never reached a node, as
        // lost. The JDK reads this once, at its first client: every harness client comes from here.
        System.setProperty("jdk.httpclient.keepalive.timeout", "20");
    }

    public static final HttpClient HTTP = client(Duration.ofSeconds(2));

    public static HttpClient client(Duration connectTimeout) {
        return HttpClient.newBuilder().connectTimeout(connectTimeout).build();
    }

    public final String name;
    final int httpPort;
    final List<String> command;
    public final Path log;
    private Process process;

    public ServeProcess(String name, Path jar, Path model, int gridPort, String peers, int expectedNodes, Path logDir,
                 String... extra) throws IOException {
        this.name = name;
        this.httpPort = httpPortFor(gridPort);
        this.log = logDir.resolve(name + ".log");
        List<String> cmd = new ArrayList<>(List.of(
                // The Vector API module on the command line: otherwise the jar relaunches itself in a second JVM,
                // and every node costs two JVM start-ups on a machine where tests start several at once.
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx1g",
                "--add-modules", "jdk.incubator.vector",
                "-Dorg.slf4j.simpleLogger.log.org.autoglm.gossip=info",
                // -Dautoglm.test.gridDebug=true: the placement loop, dispatcher and worker say what they do and why.
                "-Dorg.slf4j.simpleLogger.log.org.autoglm.gossip.dispatch="
                        + (Boolean.getBoolean("autoglm.test.gridDebug") ? "debug" : "info"),
                "-jar", jar.toString(), "serve",
                "--model", model.toString(), "--port", Integer.toString(httpPort),
                "--num-kv-blocks", "512", "--block-size", "4",
                "--node-name", name, "--grid-port", Integer.toString(gridPort), "--peers", peers,
                "--expected-nodes", Integer.toString(expectedNodes)));
        if (!List.of(extra).contains("--grid-failure-detection")) {
            cmd.addAll(List.of("--grid-failure-detection", "2000"));
        }
        cmd.addAll(List.of(extra));
        this.command = List.copyOf(cmd);
    }

    public ServeProcess start() throws IOException {
        Files.createDirectories(log.getParent());
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        // Three JVMs share this machine's few cores: one PyTorch thread each, or their spinning starves the grid.
        builder.environment().put("OMP_NUM_THREADS", "1");
        process = builder.start();
        return this;
    }

    /** {@code kill -9}: no shutdown hook, no lease release, no goodbye to the grid. */
    public void kill() {
        if (process != null) {
            process.destroyForcibly();
            try {
                process.waitFor();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** {@code kill -STOP}: the process freezes (threads, timers, sockets stay open) until {@link #resume}. */
    public void pause() {
        signal("STOP");
    }

    /** {@code kill -CONT}. */
    public void resume() {
        signal("CONT");
    }

    private void signal(String name) {
        try {
            new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).inheritIO().start().waitFor();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Graceful stop at the end of a test. */
    public void stop() {
        if (process != null && process.isAlive()) {
            process.destroy();
            try {
                if (!process.waitFor(java.time.Duration.ofSeconds(15).toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)) {
                    process.destroyForcibly().waitFor(); // gone before a restart binds its ports again
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * Writes this process's threads ({@code jcmd PID Thread.print}) beside its log, as {@code NAME-threads-N.txt}, and
     * returns that file (null when the process is gone or jcmd failed): the story of a node that hangs.
     */
    public Path threadDump() {
        if (!alive()) {
            return null;
        }
        Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
        for (int n = 1; ; n++) {
            Path out = log.resolveSibling(name + "-threads-" + n + ".txt");
            if (Files.exists(out)) {
                continue;
            }
            try {
                Process dump = new ProcessBuilder(jcmd.toString(), Long.toString(process.pid()), "Thread.print", "-l")
                        .redirectErrorStream(true).redirectOutput(out.toFile()).start();
                if (!dump.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)) {
                    dump.destroyForcibly();
                    return null;
                }
                return dump.exitValue() == 0 ? out : null;
            } catch (IOException e) {
                return null;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return null;
            }
        }
    }

    public boolean alive() {
        return process != null && process.isAlive();
    }

    public URI uri(String path) {
        return URI.create("http://127.0.0.1:" + httpPort + path);
    }

    /** Status of a GET, or -1 when the node does not answer. */
    public int status(String path) {
        try {
            return HTTP.send(HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(2)).GET().build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    /**
     * {@code GET path} answers 200. A process that exited throws, with its exit code and the end of its log: a wait on
     * it fails at once and says why.
     */
    public boolean answers(String path) {
        String exited = exitReport();
        if (exited != null) {
            throw new IllegalStateException(exited);
        }
        return status(path) == 200;
    }

    public String get(String path) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(2)).GET().build(),
                HttpResponse.BodyHandlers.ofString()).body();
    }

    public String post(String path, String body) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(5))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString()).body();
    }

    /** The bottom of Linux's default range of ports for outgoing connections (ip_local_port_range). */
    private static final int EPHEMERAL_PORTS_FROM = 32768;
    /** HTTP port = grid port + this, where that stays below the ephemeral range (grid + 1000 is the communication port). */
    private static final int HTTP_PORT_OFFSET = 2000;

    /**
     * The node's HTTP port. A port probed free in the ephemeral range stays free only until an outgoing connection takes
     * it: the node binds it seconds later, after its JVM starts, and binds it again after every restart, while three
     * nodes and the harness's proxies open connections all the time; a node whose port was taken exits ("Address already
     * in use"). So a test whose grid ports sit below that range gets an HTTP port there too, which nothing else takes.
     */
    public static int httpPortFor(int gridPort) throws IOException {
        int port = gridPort + HTTP_PORT_OFFSET;
        return port < EPHEMERAL_PORTS_FROM ? port : freePort();
    }

    /**
     * Null while the process runs (or was never started); else that it exited, with its exit code and the end of its
     * log, so a test that waits for it fails at once and says why instead of waiting out its timeout.
     */
    public String exitReport() {
        if (process == null || process.isAlive()) {
            return null;
        }
        return name + " exited with code " + process.exitValue() + "; " + logTail(30);
    }

    /** The last {@code lines} lines of this process's log, introduced as such, for a failure message. */
    public String logTail(int lines) {
        try {
            List<String> all = Files.readAllLines(log);
            return "the end of its log (" + log + "):\n"
                    + String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return "its log is unreadable (" + e + ")";
        }
    }

    /** Ports handed out in this JVM: the kernel may offer a port it just offered, and two nodes then fight for it. */
    private static final java.util.Set<Integer> HANDED_OUT = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /** A free port that no other process of this test JVM was given. */
    public static int freePort() throws IOException {
        while (true) {
            try (ServerSocket socket = new ServerSocket(0)) {
                if (HANDED_OUT.add(socket.getLocalPort())) {
                    return socket.getLocalPort();
                }
            }
        }
    }
}
