package org.autoglm.node.security;

import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Decides who a request comes from. With a JWT key configured every protected route needs a valid bearer
 * token; without one, authentication is off and every caller is {@link Caller#ANONYMOUS} — allowed only on
 * a loopback address unless the operator said {@code --insecure}.
 */
public final class Authenticator {

    private final JwtVerifier verifier;

    private Authenticator(JwtVerifier verifier) {
        this.verifier = verifier;
    }

    /** Authentication off: everyone is the anonymous caller with every role. */
    public static Authenticator none() {
        return new Authenticator(null);
    }

    public static Authenticator jwt(JwtVerifier verifier) {
        return new Authenticator(verifier);
    }

    /**
     * From the command line: at most one of the secret file and the public key file.
     *
     * @throws IllegalArgumentException with the reason when the settings are unusable or unsafe
     */
    public static Authenticator fromSettings(Path secretFile, Path publicKeyFile, String host, boolean insecure)
            throws IOException {
        return fromSettings(secretFile, publicKeyFile, JwtVerifier.DEFAULT_LEEWAY, host, insecure);
    }

    /** As above, with {@code leeway} the tolerated clock difference on {@code exp} and {@code nbf}. */
    public static Authenticator fromSettings(Path secretFile, Path publicKeyFile, Duration leeway, String host,
            boolean insecure) throws IOException {
        if (secretFile != null && publicKeyFile != null) {
            throw new IllegalArgumentException("Give either --jwt-secret-file or --jwt-public-key, not both");
        }
        if (secretFile != null) {
            return jwt(JwtVerifier.hs256(readable(secretFile, "--jwt-secret-file")).withLeeway(leeway));
        }
        if (publicKeyFile != null) {
            return jwt(JwtVerifier.publicKey(readable(publicKeyFile, "--jwt-public-key")).withLeeway(leeway));
        }
        if (!insecure && !isLoopback(host)) {
            throw new IllegalArgumentException("Refusing to serve on " + host + " without authentication: anyone "
                    + "who can reach it could use and administer the node. Give --jwt-secret-file or "
                    + "--jwt-public-key, bind to 127.0.0.1, or pass --insecure if the network is trusted.");
        }
        return none();
    }

    /** The file, if it can be read; else an error naming the flag (a bare NoSuchFileException says only the path). */
    private static Path readable(Path file, String flag) {
        if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
            throw new IllegalArgumentException(flag + " " + file + ": no such readable file");
        }
        return file;
    }

    public boolean enabled() {
        return verifier != null;
    }

    /** The caller for an {@code Authorization} header value (may be null). */
    public Caller authenticate(String authorization) throws AuthenticationException {
        if (verifier == null) {
            return Caller.ANONYMOUS;
        }
        if (authorization == null || authorization.isBlank()) {
            throw new AuthenticationException("Missing bearer token: send 'Authorization: Bearer <JWT>'.");
        }
        String[] parts = authorization.trim().split("\\s+", 2);
        if (parts.length != 2 || !parts[0].equalsIgnoreCase("Bearer")) {
            throw new AuthenticationException("Authorization header must be 'Bearer <JWT>'.");
        }
        return verifier.verify(parts[1]);
    }

    /** True for loopback addresses and names that resolve only to loopback (localhost). */
    static boolean isLoopback(String host) {
        try {
            InetAddress[] all = InetAddress.getAllByName(host);
            for (InetAddress a : all) {
                if (!a.isLoopbackAddress()) {
                    return false;
                }
            }
            return all.length > 0;
        } catch (UnknownHostException e) {
            return false;
        }
    }
}
