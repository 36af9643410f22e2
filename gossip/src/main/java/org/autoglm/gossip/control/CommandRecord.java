package org.autoglm.gossip.control;

import java.io.Serializable;
import java.util.List;

/**
 * A signed command as the cluster keeps it: the body exactly as its signer signed it, the signature, and the nodes it
 * was addressed to when it was accepted. Each target node verifies and runs it on its own and records a
 * {@link NodeAck}. A plain class, not a record: Ignite's binary marshaller cannot write records.
 */
public final class CommandRecord implements Serializable {

    private static final long serialVersionUID = 1L;

    private final String id;
    private final String op;
    private final String body;
    private final String signature;
    private final String keyId;
    private final String nonce;
    private final long expiresAtSeconds;
    private final String issuedBy;
    private final long createdAtMillis;
    private final List<String> targetNodes;
    private final boolean rolling;

    /**
     * @param body        the JSON body as received (verified against {@code signature} in its RFC 8785 form)
     * @param signature   the {@code X-Command-Signature} header value
     * @param issuedBy    subject of the token that posted it
     * @param targetNodes node names the target resolved to, in the order a rolling command visits them
     * @param rolling     one node at a time, each after the previous one is ready again
     */
    public CommandRecord(String id, String op, String body, String signature, String keyId, String nonce,
                         long expiresAtSeconds, String issuedBy, long createdAtMillis, List<String> targetNodes,
                         boolean rolling) {
        this.id = id;
        this.op = op;
        this.body = body;
        this.signature = signature;
        this.keyId = keyId;
        this.nonce = nonce;
        this.expiresAtSeconds = expiresAtSeconds;
        this.issuedBy = issuedBy;
        this.createdAtMillis = createdAtMillis;
        this.targetNodes = List.copyOf(targetNodes);
        this.rolling = rolling;
    }

    public String id() { return id; }
    public String op() { return op; }
    public String body() { return body; }
    public String signature() { return signature; }
    public String keyId() { return keyId; }
    public String nonce() { return nonce; }
    public long expiresAtSeconds() { return expiresAtSeconds; }
    public String issuedBy() { return issuedBy; }
    public long createdAtMillis() { return createdAtMillis; }
    public List<String> targetNodes() { return targetNodes; }
    public boolean rolling() { return rolling; }

    public boolean expired(long nowMillis) {
        return nowMillis >= expiresAtSeconds * 1000L;
    }
}
