package org.autoglm.node.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.InputStream;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.autoglm.node.telemetry.Telemetry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** HTTPS with a PKCS#12 keystore whose self-signed certificate keytool generates for this test. */
class HttpsTest {

    @TempDir
    Path dir;

    @Test
    void servesTlsWithTheKeystoreCertificate() throws Exception {
        Path keystore = dir.resolve("node.p12");
        String keytool = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
        Process p = new ProcessBuilder(keytool, "-genkeypair", "-alias", "node", "-keyalg", "EC", "-groupname", "secp256r1",
                "-dname", "CN=localhost", "-ext", "SAN=ip:127.0.0.1,dns:localhost", "-validity", "2",
                "-storetype", "PKCS12", "-keystore", keystore.toString(), "-storepass", "changeit", "-keypass", "changeit")
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();

        ScriptedEngine engine = new ScriptedEngine();
        ServingState state = new ServingState();
        try (Telemetry t = new Telemetry("m", state::load, null, null);
                ApiServer server = ApiServer.create(c -> {
                    c.port = 0;
                    c.tlsKeystore = keystore;
                    c.tlsPassword = "changeit";
                    c.state = state;
                    c.telemetry = t;
                }).start()) {
            state.ready(new ServingState.Loaded(new CharModel("m", 128), engine, engine));
            Http https = new Http("https://127.0.0.1:" + server.port(), HttpClient.newBuilder()
                    .sslContext(trusting(keystore)).connectTimeout(Duration.ofSeconds(5)).build());
            Http.Response r = https.post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.json().at("/choices/0/message/content").asText()).isEqualTo("Hello world!");

            // Plain HTTP to the TLS port gets nothing useful, and a client that does not trust the cert fails.
            Http untrusting = new Http("https://127.0.0.1:" + server.port(), HttpClient.newHttpClient());
            assertThatThrownBy(() -> untrusting.get("/health")).hasMessageContaining("HTTP request failed");
        } finally {
            engine.shutdown();
        }
    }

    private static SSLContext trusting(Path keystore) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(keystore)) {
            ks.load(in, "changeit".toCharArray());
        }
        Certificate cert = ks.getCertificate("node");
        KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
        trust.load(null, null);
        trust.setCertificateEntry("node", cert);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return ctx;
    }

}
