package org.autoglm.node.control;

import java.security.PublicKey;
import java.util.List;
import org.autoglm.gossip.control.CommandKey;
import org.autoglm.gossip.control.CommandLog;

/**
 * Who may sign what: finds the signer's registered key, checks the signature, and checks that the key's roles and
 * groups cover a node. The same checks run where a command is posted (to answer 401/403 at once) and on every
 * target node before it executes (so a node trusts no other node's word).
 */
public final class CommandAuthority {

    /** The signature or key is missing or wrong: 401. */
    public static final class BadSignature extends Exception {
        BadSignature(String message) {
            super(message);
        }
    }

    /** Signed correctly, by a key not allowed to command that node or group: 403. */
    public static final class OutOfScope extends Exception {
        OutOfScope(String message) {
            super(message);
        }
    }

    private final CommandLog log;

    public CommandAuthority(CommandLog log) {
        this.log = log;
    }

    /** The key that signed {@code body}, after checking the signature. */
    public CommandKey verify(String body, String signatureHeader, String keyId) throws BadSignature {
        CommandKey key = log.key(keyId).orElseThrow(() -> new BadSignature("key_id '" + keyId + "' is not registered;"
                + " an admin registers signer keys with POST /cluster/command-keys or --command-keys FILE"));
        PublicKey publicKey;
        try {
            publicKey = CommandSignature.publicKey(key.publicKeyPem());
        } catch (IllegalArgumentException e) {
            throw new BadSignature("the registered key '" + keyId + "' is unusable: " + e.getMessage());
        }
        try {
            CommandSignature.verify(publicKey, body, signatureHeader);
        } catch (SecurityException e) {
            throw new BadSignature(e.getMessage());
        } catch (IllegalArgumentException e) {
            throw new BadSignature(e.getMessage());
        }
        return key;
    }

    /** Refuses a key that may not command a node of {@code nodeGroups} (named {@code node}). */
    public static void requireScope(CommandKey key, String node, List<String> nodeGroups) throws OutOfScope {
        if (key.roles().contains("admin")) {
            return;
        }
        requireSigner(key);
        if (nodeGroups.stream().noneMatch(key.groups()::contains)) {
            throw new OutOfScope("key '" + key.keyId() + "' signs for groups " + key.groups() + ", and node '" + node
                    + "' is in " + (nodeGroups.isEmpty() ? "no group" : "group(s) " + nodeGroups));
        }
    }

    /** Refuses a key that may not command group {@code group}. */
    public static void requireGroupScope(CommandKey key, String group) throws OutOfScope {
        if (key.roles().contains("admin")) {
            return;
        }
        requireSigner(key);
        if (!key.groups().contains(group)) {
            throw new OutOfScope("key '" + key.keyId() + "' signs for groups " + key.groups() + ", not for group '"
                    + group + "'");
        }
    }

    private static void requireSigner(CommandKey key) throws OutOfScope {
        if (!key.roles().contains("operator")) {
            throw new OutOfScope("key '" + key.keyId() + "' has roles " + key.roles() + "; signing commands needs"
                    + " operator (for its groups) or admin");
        }
    }
}
