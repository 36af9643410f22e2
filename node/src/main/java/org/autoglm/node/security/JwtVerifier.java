package org.autoglm.node.security;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.crypto.MACVerifier;
import com.nimbusds.jose.crypto.RSASSAVerifier;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * Checks bearer tokens: signature (HS256 with a shared secret, or RS256 / ES256 with a public key), a
 * required {@code exp} in the future, {@code nbf} if present, and a {@code roles} claim naming at least one
 * of {@code user}, {@code operator}, {@code auditor}, {@code admin}.
 */
public final class JwtVerifier {

    /** Clocks of issuer and node may differ a little. */
    private static final Duration CLOCK_SKEW = Duration.ofSeconds(30);

    private final JWSVerifier verifier;
    private final Set<JWSAlgorithm> algorithms;
    private final Clock clock;

    private JwtVerifier(JWSVerifier verifier, Set<JWSAlgorithm> algorithms, Clock clock) {
        this.verifier = verifier;
        this.algorithms = algorithms;
        this.clock = clock;
    }

    /** HS256 with the bytes of {@code secretFile} (trailing newline ignored); at least 32 bytes. */
    public static JwtVerifier hs256(Path secretFile) throws IOException {
        String secret = Files.readString(secretFile, StandardCharsets.UTF_8).stripTrailing();
        byte[] bytes = secret.getBytes(StandardCharsets.UTF_8);
        if (bytes.length < 32) {
            throw new IllegalArgumentException("JWT secret in " + secretFile + " is " + bytes.length
                    + " bytes; HS256 needs at least 32 (e.g. `openssl rand -hex 32 > " + secretFile + "`)");
        }
        try {
            return new JwtVerifier(new MACVerifier(bytes), Set.of(JWSAlgorithm.HS256), Clock.systemUTC());
        } catch (JOSEException e) {
            throw new IllegalArgumentException("Unusable JWT secret in " + secretFile + ": " + e.getMessage());
        }
    }

    /** RS256 or ES256, decided by the PEM public key in {@code pemFile}. */
    public static JwtVerifier publicKey(Path pemFile) throws IOException {
        String pem = Files.readString(pemFile, StandardCharsets.US_ASCII);
        try {
            JWK jwk = JWK.parseFromPEMEncodedObjects(pem);
            if (jwk instanceof RSAKey rsa) {
                return new JwtVerifier(new RSASSAVerifier(rsa), Set.of(JWSAlgorithm.RS256), Clock.systemUTC());
            }
            if (jwk instanceof ECKey ec) {
                return new JwtVerifier(new ECDSAVerifier(ec), Set.of(JWSAlgorithm.ES256), Clock.systemUTC());
            }
            throw new IllegalArgumentException("JWT public key in " + pemFile + " is neither RSA nor EC");
        } catch (JOSEException e) {
            throw new IllegalArgumentException("Cannot read the JWT public key in " + pemFile
                    + " (expected a PEM RSA or EC P-256 public key): " + e.getMessage());
        }
    }

    /** The caller a valid token stands for. */
    public Caller verify(String token) throws AuthenticationException {
        SignedJWT jwt;
        try {
            jwt = SignedJWT.parse(token);
        } catch (ParseException e) {
            throw new AuthenticationException("Bearer token is not a signed JWT.");
        }
        JWSAlgorithm alg = jwt.getHeader().getAlgorithm();
        if (!algorithms.contains(alg)) {
            throw new AuthenticationException("Bearer token is signed with " + alg + "; this node accepts "
                    + algorithms + ".");
        }
        try {
            if (!jwt.verify(verifier)) {
                throw new AuthenticationException("Bearer token signature is not valid.");
            }
        } catch (JOSEException | IllegalStateException e) {
            throw new AuthenticationException("Bearer token signature cannot be checked: " + e.getMessage());
        }
        JWTClaimsSet claims;
        try {
            claims = jwt.getJWTClaimsSet();
        } catch (ParseException e) {
            throw new AuthenticationException("Bearer token claims are not valid JSON.");
        }
        Instant now = clock.instant();
        Date exp = claims.getExpirationTime();
        if (exp == null) {
            throw new AuthenticationException("Bearer token has no 'exp' claim; tokens must expire.");
        }
        if (now.isAfter(exp.toInstant().plus(CLOCK_SKEW))) {
            throw new AuthenticationException("Bearer token expired at " + exp.toInstant() + ".");
        }
        Date nbf = claims.getNotBeforeTime();
        if (nbf != null && now.plus(CLOCK_SKEW).isBefore(nbf.toInstant())) {
            throw new AuthenticationException("Bearer token is not valid before " + nbf.toInstant() + ".");
        }
        return new Caller(subjectOf(claims), rolesOf(claims), groupsOf(claims));
    }

    private static String subjectOf(JWTClaimsSet claims) throws AuthenticationException {
        String sub = claims.getSubject();
        if (sub == null || sub.isBlank()) {
            throw new AuthenticationException("Bearer token has no 'sub' claim.");
        }
        return sub;
    }

    /** The {@code groups} claim: a list of group names, or absent (null: not limited to groups). */
    private static List<String> groupsOf(JWTClaimsSet claims) throws AuthenticationException {
        Object raw = claims.getClaim("groups");
        if (raw == null) {
            return null;
        }
        if (!(raw instanceof List<?> list) || !list.stream().allMatch(String.class::isInstance)) {
            throw new AuthenticationException("Bearer token's 'groups' claim must be a list of group names.");
        }
        return list.stream().map(String.class::cast).toList();
    }

    private static Set<Role> rolesOf(JWTClaimsSet claims) throws AuthenticationException {
        Object raw = claims.getClaim("roles");
        List<?> names = raw instanceof List<?> list ? list : raw instanceof String s ? List.of(s.split("[ ,]+")) : null;
        if (names == null) {
            throw new AuthenticationException("Bearer token has no 'roles' claim (a list of user, operator, "
                    + "auditor, admin).");
        }
        EnumSet<Role> roles = EnumSet.noneOf(Role.class);
        for (Object name : names) {
            if (name instanceof String s) {
                Role.fromWire(s).ifPresent(roles::add);
            }
        }
        if (roles.isEmpty()) {
            throw new AuthenticationException("Bearer token's 'roles' claim names none of user, operator, "
                    + "auditor, admin.");
        }
        return roles;
    }
}
