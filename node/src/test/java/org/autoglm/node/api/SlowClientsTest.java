package org.autoglm.node.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Clients that are slow on purpose, over real sockets: a body trickled below the minimum data rate and a body that
 * stops arriving get 408 instead of holding a server thread; a client that stops reading its stream has its engine
 * request cancelled once our writes block for the I/O timeout.
 */
class SlowClientsTest {

    static ScriptedServer api;

    @BeforeAll
    static void start() {
        api = ScriptedServer.start(new CharModel("m", 4096), c -> {
            c.ioTimeout = Duration.ofSeconds(1);
            c.minRequestDataRate = 1024;
        });
        String big = "y".repeat(500);
        api.engine.script = r -> Collections.nCopies(1_000_000, big);
    }

    @AfterAll
    static void stop() {
        api.close();
    }

    static Socket connect(int receiveBuffer) throws IOException {
        Socket s = new Socket();
        if (receiveBuffer > 0) {
            s.setReceiveBufferSize(receiveBuffer); // before connect, so the window stays small
        }
        s.connect(new InetSocketAddress("127.0.0.1", api.port()), 5_000);
        s.setSoTimeout(15_000);
        return s;
    }

    static String head(String path, int contentLength) {
        return "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: "
                + contentLength + "\r\n\r\n";
    }

    /** Everything the server sends until it closes the connection (or 15 s pass). */
    static String readAll(Socket s) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        InputStream in = s.getInputStream();
        byte[] buffer = new byte[8192];
        try {
            for (int n; (n = in.read(buffer)) > 0; ) {
                out.write(buffer, 0, n);
                if (out.toString(StandardCharsets.UTF_8).contains("}}")) {
                    break; // the whole JSON error arrived
                }
            }
        } catch (IOException closed) {
            // reset after the response: what arrived is enough
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void tricklingBodies_get408() throws Exception {
        List<Thread> clients = new ArrayList<>();
        List<String> answers = Collections.synchronizedList(new ArrayList<>());
        for (int i = 0; i < 3; i++) {
            Thread t = new Thread(() -> {
                try (Socket s = connect(0)) {
                    OutputStream out = s.getOutputStream();
                    out.write(head("/v1/completions", 4000).getBytes(StandardCharsets.US_ASCII));
                    out.write("{\"prompt\":\"".getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    try {
                        for (int k = 0; k < 100 && s.getInputStream().available() == 0; k++) {
                            Thread.sleep(200); // 20 bytes every 200 ms: 100 B/s, far below 1024
                            out.write("aaaaaaaaaaaaaaaaaaaa".getBytes(StandardCharsets.US_ASCII));
                            out.flush();
                        }
                    } catch (IOException cutOff) {
                        // the server closed the connection on us: expected
                    }
                    answers.add(readAll(s));
                } catch (Exception e) {
                    answers.add("failed: " + e);
                }
            });
            t.start();
            clients.add(t);
        }
        for (Thread t : clients) {
            t.join(30_000);
        }
        assertThat(answers).hasSize(3).allSatisfy(a -> assertThat(a).startsWith("HTTP/1.1 408")
                .contains("request_timeout").contains("too slowly"));
    }

    @Test
    void aBodyThatStopsArriving_gets408() throws Exception {
        try (Socket s = connect(0)) {
            OutputStream out = s.getOutputStream();
            out.write((head("/v1/completions", 100) + "{\"prompt\"").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            String answer = readAll(s);
            assertThat(answer).startsWith("HTTP/1.1 408").contains("request_timeout").contains("--io-timeout");
        }
    }

    @Test
    void aLongGeneration_withNothingToSendMeanwhile_isNotAnIoTimeout() throws Exception {
        api.engine.firstTokenDelayMillis = 3_000; // three I/O timeouts with no byte either way
        try {
            Http http = new Http(api.port());
            Http.Response r = http.post("/v1/completions", "{\"model\":\"m\",\"prompt\":\"hi\",\"max_tokens\":2}");
            assertThat(r.status()).as(r.body()).isEqualTo(200);
        } finally {
            api.engine.firstTokenDelayMillis = 0;
        }
    }

    @Test
    void aStreamNobodyReads_isCancelledOnceWritesBlock() throws Exception {
        int cancelledBefore = api.engine.cancelled();
        try (Socket s = connect(4096)) {
            String body = "{\"model\":\"m\",\"prompt\":\"hi\",\"stream\":true,\"max_tokens\":4000}";
            s.getOutputStream().write((head("/v1/completions", body.length()) + body).getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            // ... and never read. The stream is cancelled within about the I/O timeout after our buffers fill.
            await().atMost(Duration.ofSeconds(20)).until(() -> api.engine.cancelled() > cancelledBefore);
            await().atMost(Duration.ofSeconds(5)).until(() -> api.engine.running() == 0);
        }
    }
}
