package org.autoglm.node.api;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.http.Context;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * Reads a request body as a JSON object, refusing everything a hostile client might send: bodies over the
 * byte limit (413), bad UTF-8, nesting deeper than {@value #MAX_DEPTH}, numbers longer than
 * {@value #MAX_NUMBER_CHARS} digits, duplicate keys, trailing garbage (400).
 */
public final class JsonBody {

    static final int MAX_DEPTH = 32;
    static final int MAX_NUMBER_CHARS = 64;

    /** The node's one JSON mapper: strict on input, plain on output. */
    public static final ObjectMapper MAPPER = JsonMapper.builder(JsonFactory.builder()
                    .streamReadConstraints(StreamReadConstraints.builder()
                            .maxNestingDepth(MAX_DEPTH)
                            .maxNumberLength(MAX_NUMBER_CHARS)
                            .build())
                    .build())
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .disable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private JsonBody() {}

    /** The body as an object node; an empty body, an array or a scalar is a 400. */
    public static ObjectNode readObject(Context ctx, long maxBytes) {
        return readObject(readBytes(ctx, maxBytes));
    }

    static ObjectNode readObject(byte[] bytes) {
        if (bytes.length == 0) {
            throw ApiError.malformed("Request body is empty; send a JSON object.");
        }
        JsonNode node;
        try (JsonParser parser = MAPPER.createParser(bytes)) {
            node = MAPPER.readTree(parser);
            if (parser.nextToken() != null) {
                throw ApiError.malformed("Request body has data after the JSON value.");
            }
        } catch (JsonProcessingException e) {
            throw ApiError.malformed("Request body is not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw ApiError.malformed("Could not read the request body: " + e.getMessage());
        }
        if (node == null || !node.isObject()) {
            throw ApiError.malformed("Request body must be a JSON object.");
        }
        return (ObjectNode) node;
    }

    private static boolean isTimeout(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof java.util.concurrent.TimeoutException || t instanceof java.net.SocketTimeoutException) {
                return true;
            }
        }
        return false;
    }

    /**
     * The body: with a declared length ({@code declared} at least 0) exactly that many bytes, and no read after them.
     * Jetty checks the minimum request data rate at every read, counted from the body's first byte: one more read only
     * to see the end, made 150 ms after a 150-byte body had arrived whole (a busy machine's scheduling), failed a client
     * that had sent everything at once with 408 (found by the long fault run at load 70). Without a declared length
     * (chunked) it reads to the end, at most {@code maxBytes}.
     */
    static byte[] readBody(InputStream in, long declared, long maxBytes) throws IOException {
        if (declared >= 0 && declared <= Integer.MAX_VALUE) {
            // Not InputStream.readNBytes: it reads once more (0 bytes) after the last, and Jetty checks the rate then.
            byte[] body = new byte[(int) declared];
            int total = 0;
            while (total < body.length) {
                int n = in.read(body, total, body.length - total);
                if (n < 0) {
                    throw ApiError.malformed("The request body ended after " + total + " of the " + declared
                            + " bytes its Content-Length declared.");
                }
                total += n;
            }
            return body;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(1024);
        byte[] buffer = new byte[8192];
        long total = 0;
        for (int n; (n = in.read(buffer)) > 0; ) {
            total += n;
            if (total > maxBytes) {
                throw ApiError.tooLarge(maxBytes);
            }
            out.write(buffer, 0, n);
        }
        return out.toByteArray();
    }

    /**
     * Reads at most {@code maxBytes}; a declared or actual length beyond it is a 413. Every route reads its body here, not
     * with Javalin's {@code ctx.body()}: that reads once more after the end, where Jetty checks the data rate (above).
     */
    public static byte[] readBytes(Context ctx, long maxBytes) {
        long declared = ctx.req().getContentLengthLong();
        if (declared > maxBytes) {
            throw ApiError.tooLarge(maxBytes);
        }
        try (InputStream in = ctx.req().getInputStream()) {
            return readBody(in, declared, maxBytes);
        } catch (org.eclipse.jetty.http.BadMessageException e) {
            if (e.getCode() == 408) { // Jetty's minimum request data rate
                throw ApiError.timeout("The request body arrived too slowly (" + e.getReason() + "; --min-request-data-rate).");
            }
            throw ApiError.malformed("Could not read the request body: " + e.getReason());
        } catch (IOException e) {
            if (isTimeout(e)) {
                throw ApiError.timeout("The request body stopped arriving (nothing for longer than --io-timeout).");
            }
            throw ApiError.malformed("Could not read the request body: " + e.getMessage());
        }
    }
}
