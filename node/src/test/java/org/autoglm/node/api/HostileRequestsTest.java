package org.autoglm.node.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A few thousand malformed and hostile requests (bad UTF-8, huge numbers, deep JSON, wrong types, empty
 * bodies, odd methods and paths, broken HTTP): none may get a 5xx or a non-JSON error, and the node must
 * answer normally afterwards.
 */
class HostileRequestsTest {

    static ScriptedServer api;
    static Http http;

    static final String[] ROUTES = {"/v1/chat/completions", "/v1/completions", "/v1/sessions"};
    static final String[] FIELDS = {"model", "messages", "prompt", "max_tokens", "max_completion_tokens", "temperature",
        "top_p", "n", "stop", "seed", "presence_penalty", "frequency_penalty", "logprobs", "top_logprobs", "user",
        "top_k", "min_p", "repetition_penalty", "ignore_eos", "priority", "session_id", "stream", "stream_options",
        "system_prompt", "ttl_seconds"};

    @BeforeAll
    static void start() {
        api = ScriptedServer.start(new CharModel("m", 256), c -> c.maxRequestBytes = 256 * 1024);
        api.engine.script = r -> List.of("a", "b");
        http = api.http;
    }

    @AfterAll
    static void stop() {
        api.close();
    }

    @Test
    void noHostileRequestGetsA5xx() throws Exception {
        Random rnd = new Random(20261127);
        List<String> failures = new ArrayList<>();
        int sent = 0;
        for (byte[] body : fixedBodies()) {
            for (String route : ROUTES) {
                check(failures, route, body, http.postBytes(route, body));
                sent++;
            }
        }
        for (int i = 0; i < 3000; i++) {
            String route = ROUTES[rnd.nextInt(ROUTES.length)];
            byte[] body = randomBody(rnd);
            check(failures, route, body, http.postBytes(route, body));
            sent++;
        }
        for (String path : List.of("/", "/v1", "/v1/", "/v1/models/x", "/v1/sessions/%00", "/v1/sessions/..%2f..%2fetc",
                "/v1/chat/completions/../../admin", "/%ff%fe", "/metrics?x=%25zz", "/admin/audit?limit=abc",
                "/admin/audit?limit=99999999999999999999", "/v1/sessions/" + "a".repeat(4000))) {
            for (String method : List.of("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS")) {
                Http.Response r = http.send(http.builder(path).method(method, HttpRequest.BodyPublishers.ofString("{}")));
                check(failures, method + " " + path, new byte[0], r);
                sent++;
            }
        }
        assertThat(sent).isGreaterThan(3000);
        assertThat(failures).isEmpty();

        for (String raw : List.of("GARBAGE\r\n\r\n", "GET /%zz?q=%zz HTTP/1.1\r\nHost: x\r\n\r\n", "GET / HTTP/9.9\r\n\r\n",
                "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
                "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{\"pro",
                "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + "h".repeat(64 * 1024) + "\r\n\r\n",
                "POST /v1/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n")) {
            String response = rawExchange(raw);
            String what = raw.substring(0, Math.min(60, raw.length()));
            // The one 5xx allowed: 505 is HTTP's own answer to an unknown protocol version, given by the
            // HTTP parser before any application code runs.
            if (!raw.contains("HTTP/9.9")) {
                assertThat(response).as(what).doesNotStartWith("HTTP/1.1 5");
            }
            if (response.startsWith("HTTP/1.1 4") || response.startsWith("HTTP/1.1 5")) {
                assertThat(response).as(what).contains("{\"error\":{\"message\":");
            }
        }

        // Still alive and answering properly.
        assertThat(http.get("/health").status()).isEqualTo(200);
        Http.Response ok = http.post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertThat(ok.status()).isEqualTo(200);
        assertThat(ok.json().at("/choices/0/message/content").asText()).isEqualTo("ab");
    }

    private static void check(List<String> failures, String what, byte[] body, Http.Response r) {
        String shown = new String(body, 0, Math.min(body.length, 120), StandardCharsets.UTF_8);
        if (r.status() >= 500) {
            failures.add(what + " " + r.status() + " <- " + shown + " -> " + r.body());
            return;
        }
        if (r.status() >= 400) {
            try {
                JsonNode e = JsonBody.MAPPER.readTree(r.body()).get("error");
                if (e == null || !e.hasNonNull("message") || !e.has("type") || !e.has("param") || !e.has("code")
                        || r.body().contains("Exception") || r.body().contains("\tat ")) {
                    failures.add(what + " bad error body " + r.body());
                }
            } catch (Exception ex) {
                failures.add(what + " non-JSON error " + r.status() + ": " + r.body());
            }
        }
    }

    static List<byte[]> fixedBodies() {
        List<byte[]> out = new ArrayList<>();
        for (String s : List.of("", " ", "null", "[]", "\"str\"", "123", "{", "}", "{}", "{\"messages\":null}",
                "{\"messages\":[{}]}", "{\"messages\":[null]}", "{\"messages\":[{\"role\":\"user\"}]}",
                "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\"}]}]}",
                "{\"messages\":[{\"role\":\"user\",\"content\":\"\\ud800\"}]}", "{\"prompt\":\"\\udfff x\"}",
                "{\"prompt\":\"\"}", "{\"prompt\":[]}", "{\"prompt\":[[]]}", "{\"prompt\":[-1]}", "{\"prompt\":[1.5]}",
                "{\"prompt\":\"x\",\"max_tokens\":1e999999}", "{\"prompt\":\"x\",\"max_tokens\":-1e-999}",
                "{\"prompt\":\"x\",\"max_tokens\":" + "9".repeat(60) + "}", "{\"prompt\":\"x\",\"max_tokens\":" + "9".repeat(5000) + "}",
                "{\"prompt\":\"x\",\"temperature\":NaN}", "{\"prompt\":\"x\",\"temperature\":Infinity}",
                "{\"prompt\":\"x\",\"seed\":18446744073709551616}", "{\"prompt\":\"x\",\"n\":100000}",
                "{\"prompt\":\"x\",\"stop\":[\"\"]}", "{\"prompt\":\"x\",\"stop\":" + "[\"a\",".repeat(1).replace(",", "") + "]}",
                "{\"prompt\":\"x\",\"prompt\":\"y\"}", "{\"prompt\":\"x\"} trailing", "{\"prompt\":\"x\"}{}",
                "{\"prompt\":\"x\",\"stream_options\":7}", "{\"prompt\":\"x\",\"logprobs\":99}",
                "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"top_logprobs\":3}",
                "{\"system_prompt\":[1],\"ttl_seconds\":-5}", "{\"ttl_seconds\":1e20}", "\u0000\u0001\u0002")) {
            out.add(s.getBytes(StandardCharsets.UTF_8));
        }
        out.add("[".repeat(100_000).getBytes(StandardCharsets.UTF_8));
        out.add("{\"a\":".repeat(20_000).getBytes(StandardCharsets.UTF_8));
        out.add(new byte[] {'{', '"', 'p', 'r', 'o', 'm', 'p', 't', '"', ':', '"', (byte) 0xC3, (byte) 0x28, '"', '}'});
        out.add(new byte[] {(byte) 0xFF, (byte) 0xFE, 0, 0});
        out.add(new byte[] {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF, '{', '}'});
        out.add(("{\"prompt\":\"" + "z".repeat(300 * 1024) + "\"}").getBytes(StandardCharsets.UTF_8));
        return out;
    }

    static byte[] randomBody(Random rnd) {
        switch (rnd.nextInt(4)) {
            case 0 -> {
                byte[] b = new byte[rnd.nextInt(200)];
                rnd.nextBytes(b);
                return b;
            }
            case 1 -> {
                // A plausible request with one field of a random type and value.
                StringBuilder s = new StringBuilder("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"prompt\":\"p\",\"max_tokens\":2");
                int fields = 1 + rnd.nextInt(3);
                for (int f = 0; f < fields; f++) {
                    s.append(",\"").append(FIELDS[rnd.nextInt(FIELDS.length)]).append("_").append(f).append("\":0");
                }
                String field = FIELDS[rnd.nextInt(FIELDS.length)];
                String body = s.append("}").toString().replace("\"" + field + "\"", "\"dup_" + field + "\"");
                return (body.substring(0, body.length() - 1) + ",\"" + field + "\":" + randomValue(rnd, 0) + "}")
                        .getBytes(StandardCharsets.UTF_8);
            }
            case 2 -> {
                byte[] b = ("{\"prompt\":\"" + "x".repeat(rnd.nextInt(50)) + "\",\"max_tokens\":2}").getBytes(StandardCharsets.UTF_8);
                int flips = 1 + rnd.nextInt(3);
                for (int i = 0; i < flips; i++) {
                    b[rnd.nextInt(b.length)] = (byte) rnd.nextInt(256);
                }
                return b;
            }
            default -> {
                return ("{\"messages\":" + randomValue(rnd, 0) + ",\"max_tokens\":2}").getBytes(StandardCharsets.UTF_8);
            }
        }
    }

    static String randomValue(Random rnd, int depth) {
        return switch (depth > 3 ? rnd.nextInt(6) : rnd.nextInt(9)) {
            case 0 -> "null";
            case 1 -> rnd.nextBoolean() ? "true" : "false";
            case 2 -> Long.toString(rnd.nextLong());
            case 3 -> Double.toString(rnd.nextGaussian() * Math.pow(10, rnd.nextInt(40) - 20));
            case 4 -> "\"" + "s".repeat(rnd.nextInt(10)) + "\"";
            case 5 -> "1e" + rnd.nextInt(400);
            case 6 -> "[" + randomValue(rnd, depth + 1) + "," + randomValue(rnd, depth + 1) + "]";
            case 7 -> "{\"role\":" + randomValue(rnd, depth + 1) + ",\"content\":" + randomValue(rnd, depth + 1) + "}";
            default -> "[{\"role\":\"user\",\"content\":" + randomValue(rnd, depth + 1) + "}]";
        };
    }

    /** Sends raw bytes and returns the response (or "" if the server closed without one). */
    static String rawExchange(String request) throws Exception {
        try (Socket s = new Socket("127.0.0.1", api.port())) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            try {
                out.write(request.getBytes(StandardCharsets.ISO_8859_1));
                out.flush();
                s.shutdownOutput();
            } catch (java.io.IOException closedEarly) {
                // The server may refuse mid-send (oversized headers): what it answered still counts.
            }
            InputStream in = s.getInputStream();
            return new String(in.readNBytes(4096), StandardCharsets.ISO_8859_1);
        } catch (java.net.SocketException reset) {
            return "";
        }
    }
}
