package org.autoglm.node.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigInteger;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.util.Date;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.time.Duration;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.autoglm.node.telemetry.Telemetry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** HTTPS with a PKCS#12 keystore whose self-signed certificate this test generates. */
class HttpsTest {

    @TempDir
    Path dir;

    @Test
    void servesTlsWithTheKeystoreCertificate() throws Exception {
        Path keystore = dir.resolve("node.p12");
        writeSelfSignedKeystore(keystore, "changeit");

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

    /** A PKCS#12 keystore with an EC key and a self-signed certificate for 127.0.0.1 / localhost (bouncycastle). */
    static void writeSelfSignedKeystore(Path file, String password) throws Exception {
        KeyPairGenerator gen = KeyPairGenerator.getInstance("EC");
        gen.initialize(new ECGenParameterSpec("secp256r1"));
        KeyPair pair = gen.generateKeyPair();
        X500Name name = new X500Name("CN=localhost");
        Instant now = Instant.now();
        X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(name, BigInteger.valueOf(now.toEpochMilli()),
                Date.from(now.minusSeconds(60)), Date.from(now.plusSeconds(86_400)), name, pair.getPublic());
        builder.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName[] {
            new GeneralName(GeneralName.iPAddress, "127.0.0.1"), new GeneralName(GeneralName.dNSName, "localhost")}));
        X509Certificate cert = new JcaX509CertificateConverter().getCertificate(
                builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(pair.getPrivate())));
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("node", pair.getPrivate(), password.toCharArray(), new Certificate[] {cert});
        try (OutputStream out = Files.newOutputStream(file)) {
            ks.store(out, password.toCharArray());
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
