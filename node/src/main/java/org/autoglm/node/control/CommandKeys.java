package org.autoglm.node.control;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import org.autoglm.gossip.control.CommandKey;

/**
 * Signer keys as JSON: {@code {"key_id", "public_key": "<PEM SubjectPublicKeyInfo>", "subject", "roles", "groups"}},
 * one posted to {@code POST /cluster/command-keys} or a list of them in {@code --command-keys FILE}.
 */
public final class CommandKeys {

    private static final Set<String> FIELDS = Set.of("key_id", "public_key", "subject", "roles", "groups");
    private static final Set<String> ROLES = Set.of("operator", "admin", "auditor", "user");

    private CommandKeys() {}

    /** A checked key; IllegalArgumentException's message starts with the field in quotes. */
    public static CommandKey parse(JsonNode n) {
        if (n == null || !n.isObject()) {
            throw new IllegalArgumentException("'key' must be an object {key_id, public_key, subject, roles, groups}");
        }
        for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!FIELDS.contains(f)) {
                throw new IllegalArgumentException("'" + f + "' is not a field of a command key (key_id, public_key,"
                        + " subject, roles, groups)");
            }
        }
        String keyId = text(n, "key_id");
        String pem = text(n, "public_key");
        try {
            CommandSignature.publicKey(pem);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("'public_key' of '" + keyId + "' is " + e.getMessage());
        }
        List<String> roles = list(n, "roles");
        for (String r : roles) {
            if (!ROLES.contains(r)) {
                throw new IllegalArgumentException("'roles' of '" + keyId + "' names '" + r + "'; roles are " + ROLES);
            }
        }
        return new CommandKey(keyId, pem, n.path("subject").asText(keyId), roles,
                n.has("groups") ? list(n, "groups") : List.of());
    }

    /** Every key in {@code --command-keys FILE} (a JSON list), checked; the message names the file and the key. */
    public static List<CommandKey> load(Path file) {
        JsonNode root;
        try {
            root = CommandRequest.JSON.readTree(Files.readString(file));
        } catch (IOException e) {
            throw new IllegalArgumentException("--command-keys " + file + ": cannot read it: " + e.getMessage());
        }
        if (root == null || !root.isArray()) {
            throw new IllegalArgumentException("--command-keys " + file + " must hold a JSON list of"
                    + " {key_id, public_key, subject, roles, groups}");
        }
        List<CommandKey> keys = new ArrayList<>();
        for (JsonNode k : root) {
            try {
                keys.add(parse(k));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--command-keys " + file + ": " + e.getMessage());
            }
        }
        return keys;
    }

    /** The field an error from {@link #parse} is about. */
    static String fieldOf(IllegalArgumentException e) {
        String m = e.getMessage();
        return m != null && m.startsWith("'") && m.indexOf('\'', 1) > 0 ? m.substring(1, m.indexOf('\'', 1)) : null;
    }

    static ObjectNode view(CommandKey k) {
        ObjectNode n = CommandRequest.JSON.createObjectNode();
        n.put("key_id", k.keyId());
        n.put("public_key", k.publicKeyPem());
        n.put("subject", k.subject());
        k.roles().forEach(n.putArray("roles")::add);
        k.groups().forEach(n.putArray("groups")::add);
        return n;
    }

    private static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        if (v == null || !v.isTextual() || v.asText().isBlank()) {
            throw new IllegalArgumentException("'" + field + "' is required and must be a non-empty string");
        }
        return v.asText();
    }

    private static List<String> list(JsonNode n, String field) {
        JsonNode v = n.get(field);
        if (v == null || !v.isArray()) {
            throw new IllegalArgumentException("'" + field + "' is required and must be a list of strings");
        }
        List<String> out = new ArrayList<>();
        v.forEach(x -> out.add(x.asText()));
        return out;
    }
}
