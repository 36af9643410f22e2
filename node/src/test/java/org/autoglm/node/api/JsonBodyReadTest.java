package org.autoglm.node.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.eclipse.jetty.http.BadMessageException;
import org.junit.jupiter.api.Test;

/**
 * A body with a Content-Length is read to that length and no further. Jetty runs its minimum-data-rate check at every
 * read, counted from the body's first byte, so the read that only looked for the end, 150 ms after a small body had
 * arrived whole, answered 408 on a busy machine (the long fault run at load 70 saw it). The stream here answers that
 * read as Jetty then did.
 */
class JsonBodyReadTest {

    private static final byte[] BODY = "{\"prompt\":[10,11,12,13],\"max_tokens\":12,\"temperature\":0}"
            .getBytes(StandardCharsets.UTF_8);

    @Test
    void aDeclaredBodyIsReadWithoutAReadPastItsEnd() throws IOException {
        assertThat(JsonBody.readBody(new RateCheckedBody(BODY), BODY.length, 1 << 20)).isEqualTo(BODY);
        // Reading to the end, as every body was read before, makes the read that fails.
        assertThatThrownBy(() -> JsonBody.readBody(new RateCheckedBody(BODY), -1, 1 << 20))
                .isInstanceOf(BadMessageException.class);
    }

    @Test
    void aShortBodyIsMalformedAndAChunkedOneIsReadToItsEnd() throws IOException {
        assertThatThrownBy(() -> JsonBody.readBody(new ByteArrayInputStream(BODY), BODY.length + 10, 1 << 20))
                .isInstanceOf(ApiError.class).hasMessageContaining("ended after " + BODY.length);
        assertThat(JsonBody.readBody(new ByteArrayInputStream(BODY), -1, 1 << 20)).isEqualTo(BODY);
        assertThatThrownBy(() -> JsonBody.readBody(new ByteArrayInputStream(BODY), -1, 10))
                .isInstanceOf(ApiError.class);
    }

    /**
     * Javalin's {@code ctx.body()} and {@code bodyAsBytes()} read to the end, one read past the body: the workflow and
     * command routes read theirs that way, and a workflow run started at load 7 got that 408 (stop 32's verify). Every
     * route reads its body through {@link JsonBody#readBytes}.
     */
    @Test
    void noRouteReadsItsBodyThroughJavalin() throws IOException {
        java.util.regex.Pattern javalinRead = java.util.regex.Pattern.compile(
                "\\bctx\\.(body|bodyAsBytes|bodyAsClass|bodyStreamAsClass|bodyInputStream)\\(");
        java.util.List<String> readers;
        try (java.util.stream.Stream<java.nio.file.Path> files = java.nio.file.Files.walk(java.nio.file.Path.of("src", "main", "java"))) {
            readers = files.filter(f -> f.toString().endsWith(".java") && !f.endsWith("JsonBody.java")).filter(f -> {
                try {
                    return javalinRead.matcher(java.nio.file.Files.readString(f)).find();
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }).map(java.nio.file.Path::toString).toList();
        }
        assertThat(readers).as("sources that read a request body through Javalin").isEmpty();
    }

    /** The body, then what Jetty's rate check did to the read after it when the reader came back late. */
    private static final class RateCheckedBody extends InputStream {
        private final ByteArrayInputStream body;

        RateCheckedBody(byte[] bytes) {
            body = new ByteArrayInputStream(bytes);
        }

        @Override
        public int read() {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] buffer, int offset, int length) {
            if (body.available() == 0) {
                throw new BadMessageException(408, "Request content data rate < 1024");
            }
            return body.read(buffer, offset, length);
        }
    }
}
