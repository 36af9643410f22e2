package org.autoglm.node.control;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import org.autoglm.node.api.ApiError;

/**
 * The body of {@code POST /cluster/commands}: {@code {op, target, args, nonce, expires_at, key_id}}, checked field by
 * field (an unknown field is refused, never ignored: it is part of what was signed).
 *
 * @param targetGroups  {@code target.groups}, or null
 * @param targetNodes   {@code target.nodes} (names or ids), or null
 * @param targetAll     {@code target.all}
 * @param args          the op's arguments (an empty object when absent)
 */
public record CommandRequest(String op, List<String> targetGroups, List<String> targetNodes, boolean targetAll,
                             ObjectNode args, String nonce, long expiresAt, String keyId) {

    static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> FIELDS = Set.of("op", "target", "args", "nonce", "expires_at", "key_id");

    public static CommandRequest parse(String body) {
        JsonNode root;
        try {
            root = JSON.readTree(body);
        } catch (Exception e) {
            throw ApiError.malformed("The command body is not valid JSON: " + e.getMessage());
        }
        if (root == null || !root.isObject()) {
            throw ApiError.malformed("The command body must be a JSON object {op, target, args, nonce, expires_at, key_id}.");
        }
        for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!FIELDS.contains(f)) {
                throw ApiError.invalid(f, "Unknown field '" + f + "'; a command has op, target, args, nonce, expires_at"
                        + " and key_id.");
            }
        }
        String op = text(root, "op");
        if (!Operation.NAMES.contains(op)) {
            throw ApiError.invalid("op", "Unknown op '" + op + "'; one of " + Operation.NAMES + ".");
        }
        JsonNode target = root.get("target");
        if (target == null || !target.isObject() || target.size() != 1) {
            throw ApiError.invalid("target", "'target' must be one of {\"groups\": [...]}, {\"nodes\": [...]} or"
                    + " {\"all\": true}.");
        }
        List<String> groups = target.has("groups") ? names(target.get("groups"), "target.groups") : null;
        List<String> nodes = target.has("nodes") ? names(target.get("nodes"), "target.nodes") : null;
        boolean all = target.has("all");
        if (all && !target.get("all").asBoolean(false) || groups == null && nodes == null && !all) {
            throw ApiError.invalid("target", "'target' must be one of {\"groups\": [...]}, {\"nodes\": [...]} or"
                    + " {\"all\": true}.");
        }
        JsonNode args = root.get("args");
        if (args != null && !args.isObject() && !args.isNull()) {
            throw ApiError.invalid("args", "'args' must be a JSON object.");
        }
        String nonce = text(root, "nonce");
        if (nonce.length() < 8 || nonce.length() > 128) {
            throw ApiError.invalid("nonce", "'nonce' must be 8 to 128 characters, unique per command.");
        }
        JsonNode expires = root.get("expires_at");
        if (expires == null || !expires.canConvertToLong() || !expires.isIntegralNumber()) {
            throw ApiError.invalid("expires_at", "'expires_at' must be an integer: the expiry in Unix seconds.");
        }
        return new CommandRequest(op, groups, nodes, all,
                args == null || args.isNull() ? JSON.createObjectNode() : (ObjectNode) args, nonce,
                expires.asLong(), text(root, "key_id"));
    }

    private static String text(JsonNode root, String field) {
        JsonNode v = root.get(field);
        if (v == null || !v.isTextual() || v.asText().isBlank()) {
            throw ApiError.invalid(field, "'" + field + "' is required and must be a non-empty string.");
        }
        return v.asText();
    }

    private static List<String> names(JsonNode list, String field) {
        if (list == null || !list.isArray() || list.isEmpty()) {
            throw ApiError.invalid(field, "'" + field + "' must be a non-empty list of names.");
        }
        List<String> out = new ArrayList<>();
        for (JsonNode n : list) {
            if (!n.isTextual()) {
                throw ApiError.invalid(field, "'" + field + "' must hold strings.");
            }
            out.add(n.asText());
        }
        return out;
    }
}
