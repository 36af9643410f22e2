package org.autoglm.gossip.control;

import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * One line of the cluster audit log. {@code hash} is the SHA-256 of the previous entry's hash and this entry's
 * fields, so changing or removing any entry breaks every hash after it; {@code signature} is the writing node's
 * Ed25519 signature over {@code hash}.
 */
public final class AuditEntry implements Serializable {

    private static final long serialVersionUID = 1L;
    /** The "previous hash" of the first entry. */
    public static final String GENESIS = "0".repeat(64);

    private final long seq;
    private final long timeMillis;
    private final String node;
    private final String actor;
    private final String action;
    private final String target;
    private final String detail;
    private final String prevHash;
    private final String hash;
    private final String signerKeyId;
    private final String signature;

    public AuditEntry(long seq, long timeMillis, String node, String actor, String action, String target,
                      String detail, String prevHash, String hash, String signerKeyId, String signature) {
        this.seq = seq;
        this.timeMillis = timeMillis;
        this.node = node;
        this.actor = actor;
        this.action = action;
        this.target = target;
        this.detail = detail;
        this.prevHash = prevHash;
        this.hash = hash;
        this.signerKeyId = signerKeyId;
        this.signature = signature;
    }

    public long seq() { return seq; }
    public long timeMillis() { return timeMillis; }
    public String node() { return node; }
    public String actor() { return actor; }
    public String action() { return action; }
    public String target() { return target; }
    public String detail() { return detail; }
    public String prevHash() { return prevHash; }
    public String hash() { return hash; }
    public String signerKeyId() { return signerKeyId; }
    public String signature() { return signature; }

    /** The hash an entry with these fields must carry: SHA-256 over the fields, one per line, after the previous hash. */
    public static String hashOf(String prevHash, long seq, long timeMillis, String node, String actor, String action,
                                String target, String detail) {
        String text = String.join("\n", prevHash, Long.toString(seq), Long.toString(timeMillis), nz(node), nz(actor),
                nz(action), nz(target), nz(detail));
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** What this entry's hash should be. */
    public String expectedHash() {
        return hashOf(prevHash, seq, timeMillis, node, actor, action, target, detail);
    }

    private static String nz(String s) {
        return s == null ? "" : s;
    }
}
