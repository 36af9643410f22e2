package org.autoglm.node.workflow;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.autoglm.node.api.JsonBody;

/** A small HTTP client for the workflow routes: one caller (bearer token or none) on one node. */
record Client(String base, String token) {

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    record Response(int status, String body) {
        JsonNode json() {
            try {
                return JsonBody.MAPPER.readTree(body);
            } catch (Exception e) {
                throw new AssertionError("not JSON (" + status + "): " + body, e);
            }
        }
    }

    static Client of(int port) {
        return new Client("http://127.0.0.1:" + port, null);
    }

    Client as(String bearer) {
        return new Client(base, bearer);
    }

    Response get(String path) throws Exception {
        return send(builder(path).GET());
    }

    Response delete(String path) throws Exception {
        return send(builder(path).DELETE());
    }

    Response post(String path, String body) throws Exception {
        return post(path, body, "application/json");
    }

    Response post(String path, String body, String contentType) throws Exception {
        return send(builder(path).header("Content-Type", contentType).POST(HttpRequest.BodyPublishers.ofString(body)));
    }

    private HttpRequest.Builder builder(String path) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30));
        return token == null ? b : b.header("Authorization", "Bearer " + token);
    }

    private Response send(HttpRequest.Builder b) throws Exception {
        HttpResponse<String> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
        return new Response(r.statusCode(), r.body());
    }
}
