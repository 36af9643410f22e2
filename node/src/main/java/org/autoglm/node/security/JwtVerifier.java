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
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * Checks bearer tokens: signature (HS256 with a shared secret, or RS256 / ES256 with a public key), no
 * critical header parameters (we understand none), a required {@code exp} in the future, {@code nbf} if
 * present, and a {@code roles} claim that is a JSON list. Roles we do not know are ignored: a token naming none
 * of {@code user}, {@code operator}, {@code auditor}, {@code admin} authenticates but may use no route (403).
 */
public final class JwtVerifier {

    /** Default tolerance for clock differences between token issuer and node ({@code --jwt-leeway}). */
    public static final Duration DEFAULT_LEEWAY = Duration.ofSeconds(5);
    /** NumericDates past 9999-12-31 cannot be a real expiry, and overflow milliseconds near 2^63 seconds. */
    private static final long MAX_NUMERIC_DATE = Instant.parse("9999-12-31T23:59:59Z").getEpochSecond();

    private final JWSVerifier verifier;
    private final Set<JWSAlgorithm> algorithms;
    private final Clock clock;
    private final Duration leeway;

    private JwtVerifier(JWSVerifier verifier, Set<JWSAlgorithm> algorithms, Clock clock, Duration leeway) {
        this.verifier = verifier;
        this.algorithms = algorithms;
        this.clock = clock;
        this.leeway = leeway;
    }

    /** The same keys with another clock tolerance on {@code exp} and {@code nbf}. */
    public JwtVerifier withLeeway(Duration leeway) {
        if (leeway.isNegative()) {
            throw new IllegalArgumentException("--jwt-leeway must be 0 or more seconds, got " + leeway.toSeconds());
        }
        return new JwtVerifier(verifier, algorithms, clock, leeway);
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
            return new JwtVerifier(new MACVerifier(bytes), Set.of(JWSAlgorithm.HS256), Clock.systemUTC(),
                    DEFAULT_LEEWAY);
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
                return new JwtVerifier(new RSASSAVerifier(rsa), Set.of(JWSAlgorithm.RS256), Clock.systemUTC(),
                        DEFAULT_LEEWAY);
            }
            if (jwk instanceof ECKey ec) {
                return new JwtVerifier(new ECDSAVerifier(ec), Set.of(JWSAlgorithm.ES256), Clock.systemUTC(),
                        DEFAULT_LEEWAY);
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
        Set<String> critical = jwt.getHeader().getCriticalParams();
        if (critical != null && !critical.isEmpty()) {
            // RFC 7515 section 4.1.11: a recipient must reject a token whose "crit" names what it does not understand.
            throw new AuthenticationException("Bearer token's header marks " + new java.util.TreeSet<>(critical)
                    + " as critical ('crit'); this node supports no critical header parameters (RFC 7515 4.1.11).");
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
        Instant exp = numericDate(jwt, "exp");
        if (exp == null) {
            throw new AuthenticationException("Bearer token has no 'exp' claim; tokens must expire.");
        }
        if (now.isAfter(exp.plus(leeway))) {
            throw new AuthenticationException("Bearer token expired at " + exp + ".");
        }
        Instant nbf = numericDate(jwt, "nbf");
        if (nbf != null && now.plus(leeway).isBefore(nbf)) {
            throw new AuthenticationException("Bearer token is not valid before " + nbf + ".");
        }
        return new Caller(subjectOf(claims), rolesOf(claims), groupsOf(claims));
    }

    /**
     * A NumericDate claim (seconds since 1970, RFC 7519 section 2) read from the raw JSON number: the library's
     * {@code Date} getters multiply by 1000 and overflow, so exp = 2^63 would read as a date in 1969.
     */
    private static Instant numericDate(SignedJWT jwt, String name) throws AuthenticationException {
        Object raw = jwt.getPayload().toJSONObject().get(name);
        if (raw == null) {
            return null;
        }
        if (!(raw instanceof Number n)) {
            throw new AuthenticationException("Bearer token's '" + name + "' claim must be a number of seconds since "
                    + "1970 (RFC 7519 NumericDate), got " + raw + ".");
        }
        java.math.BigDecimal seconds = new java.math.BigDecimal(n.toString());
        if (seconds.signum() < 0 || seconds.compareTo(java.math.BigDecimal.valueOf(MAX_NUMERIC_DATE)) > 0) {
            throw new AuthenticationException("Bearer token's '" + name + "' claim " + seconds.toPlainString()
                    + " is out of range: give seconds since 1970 up to " + MAX_NUMERIC_DATE + " (9999-12-31).");
        }
        return Instant.ofEpochSecond(seconds.longValue());
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

    /** The known roles of a {@code roles} claim, which must be a JSON list of strings; unknown names are ignored. */
    private static Set<Role> rolesOf(JWTClaimsSet claims) throws AuthenticationException {
        Object raw = claims.getClaim("roles");
        if (raw == null) {
            throw new AuthenticationException("Bearer token has no 'roles' claim (a JSON list of user, operator, "
                    + "auditor, admin).");
        }
        // A string is refused, not split: "user admin" must never read as two roles.
        if (!(raw instanceof List<?> names) || !names.stream().allMatch(String.class::isInstance)) {
            throw new AuthenticationException("Bearer token's 'roles' claim must be a JSON list of strings, e.g. "
                    + "[\"user\"]; got " + (raw instanceof String ? "a string" : raw.getClass().getSimpleName()) + ".");
        }
        EnumSet<Role> roles = EnumSet.noneOf(Role.class);
        for (Object name : names) {
            Role.fromWire((String) name).ifPresent(roles::add);
        }
        return roles;
    }
}
