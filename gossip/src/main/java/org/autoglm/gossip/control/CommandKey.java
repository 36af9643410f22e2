package org.autoglm.gossip.control;

import java.io.Serializable;
import java.util.List;

/**
 * A registered command signer: its Ed25519 public key (PEM SubjectPublicKeyInfo) and what it may sign for. Roles
 * {@code admin} sign for every node; {@code operator} only for nodes in {@code groups}.
 */
public final class CommandKey implements Serializable {

    private static final long serialVersionUID = 1L;

    private final String keyId;
    private final String publicKeyPem;
    private final String subject;
    private final List<String> roles;
    private final List<String> groups;

    public CommandKey(String keyId, String publicKeyPem, String subject, List<String> roles, List<String> groups) {
        this.keyId = keyId;
        this.publicKeyPem = publicKeyPem;
        this.subject = subject;
        this.roles = List.copyOf(roles);
        this.groups = List.copyOf(groups);
    }

    public String keyId() { return keyId; }
    public String publicKeyPem() { return publicKeyPem; }
    public String subject() { return subject; }
    public List<String> roles() { return roles; }
    public List<String> groups() { return groups; }
}
