package org.autoglm.node.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSObject;
import com.nimbusds.jose.Payload;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

public class JwtVerifierTest {

    public static final String SECRET = "0123456789abcdef0123456789abcdef-test-secret";

    @TempDir
    Path dir;

    static String token(JWSSigner signer, JWSAlgorithm alg, String subject, List<String> roles, Instant exp)
            throws Exception {
        JWTClaimsSet.Builder claims = new JWTClaimsSet.Builder().subject(subject);
        if (roles != null) {
            claims.claim("roles", roles);
        }
        if (exp != null) {
            claims.expirationTime(Date.from(exp));
        }
        SignedJWT jwt = new SignedJWT(new JWSHeader(alg), claims.build());
        jwt.sign(signer);
        return jwt.serialize();
    }

    public static String hs256(String subject, List<String> roles, Instant exp) throws Exception {
        return token(new MACSigner(SECRET.getBytes()), JWSAlgorithm.HS256, subject, roles, exp);
    }

    public static Path secretFile(Path dir) throws Exception {
        return Files.writeString(dir.resolve("jwt.secret"), SECRET + "\n");
    }

    static String pem(PublicKey key) {
        return "-----BEGIN PUBLIC KEY-----\n" + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(key.getEncoded())
                + "\n-----END PUBLIC KEY-----\n";
    }

    @Test
    void hs256TokenGivesSubjectAndRoles() throws Exception {
        JwtVerifier v = JwtVerifier.hs256(secretFile(dir));
        Caller c = v.verify(hs256("alice", List.of("user", "auditor", "astronaut"), Instant.now().plusSeconds(60)));
        assertThat(c.subject()).isEqualTo("alice");
        assertThat(c.roles()).containsExactlyInAnyOrder(Role.USER, Role.AUDITOR);
    }

    @Test
    void refusesExpiredUnexpiringRoleless_andForgedTokens() throws Exception {
        JwtVerifier v = JwtVerifier.hs256(secretFile(dir));
        assertThatThrownBy(() -> v.verify(hs256("a", List.of("user"), Instant.now().minusSeconds(3600))))
                .hasMessageContaining("expired");
        assertThatThrownBy(() -> v.verify(hs256("a", List.of("user"), null))).hasMessageContaining("exp");
        assertThatThrownBy(() -> v.verify(hs256("a", null, Instant.now().plusSeconds(60)))).hasMessageContaining("roles");
        String forged = token(new MACSigner("another-secret-another-secret-another-secret".getBytes()),
                JWSAlgorithm.HS256, "a", List.of("admin"), Instant.now().plusSeconds(60));
        assertThatThrownBy(() -> v.verify(forged)).hasMessageContaining("signature");
        assertThatThrownBy(() -> v.verify("not.a.jwt")).isInstanceOf(AuthenticationException.class);
    }

    /** An HS256 token over a payload written as raw JSON (claims the builder cannot express). */
    public static String hs256Raw(String payloadJson, JWSHeader header) throws Exception {
        JWSObject jws = new JWSObject(header, new Payload(payloadJson));
        jws.sign(new MACSigner(SECRET.getBytes()));
        return jws.serialize();
    }

    static String payload(String roles, String exp) {
        return "{\"sub\":\"eve\",\"roles\":" + roles + ",\"exp\":" + exp + "}";
    }

    static String inAMinute() {
        return Long.toString(Instant.now().getEpochSecond() + 60);
    }

    @Test
    void rolesMustBeAJsonList_aStringIsNeverSplit() throws Exception {
        JwtVerifier v = JwtVerifier.hs256(secretFile(dir));
        JWSHeader hs = new JWSHeader(JWSAlgorithm.HS256);
        for (String roles : List.of("\"user admin\"", "\"user,admin\"", "\"admin\"", "{\"admin\":true}", "7",
                "[\"user\", 1]", "[[\"admin\"]]")) {
            assertThatThrownBy(() -> v.verify(hs256Raw(payload(roles, inAMinute()), hs))).as(roles)
                    .isInstanceOf(AuthenticationException.class).hasMessageContaining("must be a JSON list");
        }
        assertThat(v.verify(hs256Raw(payload("[\"user\",\"admin\"]", inAMinute()), hs)).roles())
                .containsExactlyInAnyOrder(Role.USER, Role.ADMIN);
    }

    @Test
    void onlyUnknownRoles_authenticatesWithNoRights() throws Exception {
        JwtVerifier v = JwtVerifier.hs256(secretFile(dir));
        Caller c = v.verify(hs256("a", List.of("pirate", "Admin"), Instant.now().plusSeconds(60)));
        assertThat(c.roles()).isEmpty();
        assertThat(c.hasAny(java.util.Set.of(Role.USER))).isFalse();
    }

    @Test
    void expBeyondAnyDate_isOutOfRange_notExpiredIn1969() throws Exception {
        JwtVerifier v = JwtVerifier.hs256(secretFile(dir));
        JWSHeader hs = new JWSHeader(JWSAlgorithm.HS256);
        for (String exp : List.of("9223372036854775808", "9223372036854775807", "1e300", "-5")) {
            assertThatThrownBy(() -> v.verify(hs256Raw(payload("[\"user\"]", exp), hs))).as(exp)
                    .hasMessageContaining("out of range").hasMessageNotContaining("1969");
        }
        assertThatThrownBy(() -> v.verify(hs256Raw(payload("[\"user\"]", "\"tomorrow\""), hs)))
                .isInstanceOf(AuthenticationException.class);
    }

    @Test
    void criticalHeaderParameters_areRefusedAsUnsupported() throws Exception {
        JwtVerifier v = JwtVerifier.hs256(secretFile(dir));
        JWSHeader crit = new JWSHeader.Builder(JWSAlgorithm.HS256).criticalParams(java.util.Set.of("x-must"))
                .customParam("x-must", 1).build();
        assertThatThrownBy(() -> v.verify(hs256Raw(payload("[\"user\"]", inAMinute()), crit)))
                .hasMessageContaining("critical").hasMessageContaining("x-must").hasMessageNotContaining("signature");
    }

    @Test
    void leewayIsSmallByDefault_andConfigurable() throws Exception {
        JwtVerifier v = JwtVerifier.hs256(secretFile(dir));
        assertThat(JwtVerifier.DEFAULT_LEEWAY).isLessThanOrEqualTo(java.time.Duration.ofSeconds(5));
        assertThat(v.verify(hs256("a", List.of("user"), Instant.now().minusSeconds(2))).subject()).isEqualTo("a");
        assertThatThrownBy(() -> v.verify(hs256("a", List.of("user"), Instant.now().minusSeconds(20))))
                .hasMessageContaining("expired");
        JwtVerifier lenient = v.withLeeway(java.time.Duration.ofSeconds(60));
        assertThat(lenient.verify(hs256("a", List.of("user"), Instant.now().minusSeconds(20))).subject()).isEqualTo("a");
        JwtVerifier strict = v.withLeeway(java.time.Duration.ZERO);
        assertThatThrownBy(() -> strict.verify(hs256("a", List.of("user"), Instant.now().minusSeconds(2))))
                .hasMessageContaining("expired");
        assertThatThrownBy(() -> v.withLeeway(java.time.Duration.ofSeconds(-1))).hasMessageContaining("--jwt-leeway");
    }

    @Test
    void shortSecretIsRefusedAtStartup() throws Exception {
        Path f = Files.writeString(dir.resolve("short"), "tiny");
        assertThatThrownBy(() -> JwtVerifier.hs256(f)).hasMessageContaining("at least 32");
    }

    @Test
    void rs256AndEs256WithPemPublicKeys() throws Exception {
        RSAKey rsa = new RSAKeyGenerator(2048).generate();
        Path rsaPem = Files.writeString(dir.resolve("rsa.pem"), pem(rsa.toPublicKey()));
        JwtVerifier rv = JwtVerifier.publicKey(rsaPem);
        String rt = token(new RSASSASigner(rsa), JWSAlgorithm.RS256, "bob", List.of("operator"), Instant.now().plusSeconds(60));
        assertThat(rv.verify(rt).roles()).containsExactly(Role.OPERATOR);

        ECKey ec = new ECKeyGenerator(Curve.P_256).generate();
        Path ecPem = Files.writeString(dir.resolve("ec.pem"), pem(ec.toPublicKey()));
        JwtVerifier ev = JwtVerifier.publicKey(ecPem);
        String et = token(new ECDSASigner(ec), JWSAlgorithm.ES256, "carol", List.of("admin"), Instant.now().plusSeconds(60));
        assertThat(ev.verify(et).subject()).isEqualTo("carol");
        // A token for one key type is refused by a verifier of the other.
        assertThatThrownBy(() -> rv.verify(et)).hasMessageContaining("ES256");
        // An HS256 token forged with the public key as secret must not pass an RS256 node.
        assertThatThrownBy(() -> rv.verify(hs256("mallory", List.of("admin"), Instant.now().plusSeconds(60))))
                .isInstanceOf(AuthenticationException.class);
    }

    @Test
    void bindingBeyondLoopbackNeedsAuthOrInsecure() throws Exception {
        assertThatThrownBy(() -> Authenticator.fromSettings(null, null, "0.0.0.0", false))
                .hasMessageContaining("without authentication").hasMessageContaining("--insecure");
        assertThat(Authenticator.fromSettings(null, null, "0.0.0.0", true).enabled()).isFalse();
        assertThat(Authenticator.fromSettings(null, null, "127.0.0.1", false).enabled()).isFalse();
        assertThat(Authenticator.fromSettings(null, null, "localhost", false).enabled()).isFalse();
        assertThat(Authenticator.fromSettings(secretFile(dir), null, "0.0.0.0", false).enabled()).isTrue();
    }
}
