package org.autoglm.node.control;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import org.erdtman.jcs.JsonCanonicalizer;

/**
 * The signature on a command: {@code X-Command-Signature: ed25519=<base64>}, an Ed25519 signature (JDK's own) over
 * the RFC 8785 (JCS) canonical form of the JSON body. Keys travel as PEM: SubjectPublicKeyInfo for public keys,
 * PKCS#8 for private ones (what {@code ctl keygen} writes, and what WebCrypto imports as "spki" / "pkcs8").
 */
public final class CommandSignature {

    public static final String HEADER = "X-Command-Signature";
    private static final String PREFIX = "ed25519=";

    private CommandSignature() {}

    /** The RFC 8785 canonical UTF-8 bytes of a JSON text. */
    public static byte[] canonical(String json) {
        try {
            return new JsonCanonicalizer(json).getEncodedUTF8();
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException("the body is not JSON that can be canonicalized (RFC 8785): "
                    + e.getMessage());
        }
    }

    /** The header value signing {@code body} with {@code key}. */
    public static String sign(PrivateKey key, String body) {
        try {
            Signature s = Signature.getInstance("Ed25519");
            s.initSign(key);
            s.update(canonical(body));
            return PREFIX + Base64.getEncoder().encodeToString(s.sign());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot sign with Ed25519: " + e.getMessage(), e);
        }
    }

    /**
     * Checks {@code header} against {@code body}.
     *
     * @throws SecurityException saying what is wrong (missing, malformed, or not matching)
     */
    public static void verify(PublicKey key, String body, String header) {
        if (header == null || header.isBlank()) {
            throw new SecurityException("the command has no " + HEADER + " header; sign the body's RFC 8785 form"
                    + " with your Ed25519 key and send '" + HEADER + ": ed25519=<base64 signature>'");
        }
        if (!header.startsWith(PREFIX)) {
            throw new SecurityException(HEADER + " must be 'ed25519=<base64 signature>'");
        }
        byte[] signature;
        try {
            signature = Base64.getDecoder().decode(header.substring(PREFIX.length()).trim());
        } catch (IllegalArgumentException e) {
            throw new SecurityException(HEADER + ": the signature is not base64");
        }
        boolean valid;
        try {
            Signature s = Signature.getInstance("Ed25519");
            s.initVerify(key);
            s.update(canonical(body));
            valid = signature.length == 64 && s.verify(signature);
        } catch (GeneralSecurityException e) {
            valid = false;
        }
        if (!valid) {
            throw new SecurityException(HEADER + " does not match the body: the signature must cover the RFC 8785"
                    + " canonical form of exactly this body, made with the private key of its key_id");
        }
    }

    public static KeyPair generate() {
        try {
            return KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("this JDK has no Ed25519", e);
        }
    }

    /** An Ed25519 public key from PEM SubjectPublicKeyInfo. */
    public static PublicKey publicKey(String pem) {
        try {
            return KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(der(pem, "PUBLIC KEY")));
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw new IllegalArgumentException("not a PEM Ed25519 public key (-----BEGIN PUBLIC KEY-----,"
                    + " SubjectPublicKeyInfo): " + e.getMessage());
        }
    }

    /** An Ed25519 private key from PEM PKCS#8. */
    public static PrivateKey privateKey(String pem) {
        try {
            return KeyFactory.getInstance("Ed25519").generatePrivate(new PKCS8EncodedKeySpec(der(pem, "PRIVATE KEY")));
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw new IllegalArgumentException("not a PEM Ed25519 private key (-----BEGIN PRIVATE KEY-----, PKCS#8): "
                    + e.getMessage());
        }
    }

    public static String pem(PublicKey key) {
        return pem("PUBLIC KEY", key.getEncoded());
    }

    public static String pem(PrivateKey key) {
        return pem("PRIVATE KEY", key.getEncoded());
    }

    private static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                .encodeToString(der) + "\n-----END " + type + "-----\n";
    }

    private static byte[] der(String pem, String type) {
        String begin = "-----BEGIN " + type + "-----";
        String end = "-----END " + type + "-----";
        int from = pem == null ? -1 : pem.indexOf(begin);
        int to = from < 0 ? -1 : pem.indexOf(end, from);
        if (from < 0 || to < 0) {
            throw new IllegalArgumentException("no " + begin + " block");
        }
        return Base64.getMimeDecoder().decode(pem.substring(from + begin.length(), to));
    }
}
