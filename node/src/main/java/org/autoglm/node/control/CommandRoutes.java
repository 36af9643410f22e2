package org.autoglm.node.control;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.http.Context;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.autoglm.gossip.Cluster;
import org.autoglm.gossip.control.CommandKey;
import org.autoglm.gossip.control.CommandLog;
import org.autoglm.gossip.control.CommandRecord;
import org.autoglm.gossip.control.NodeAck;
import org.autoglm.gossip.registry.NodeHealth;
import org.autoglm.gossip.registry.NodeView;
import org.autoglm.node.api.ApiError;
import org.autoglm.node.api.ApiServer;
import org.autoglm.node.api.JsonBody;
import org.autoglm.node.security.Caller;

/**
 * {@code POST /cluster/commands} (a signed command for groups, nodes or all), {@code GET /cluster/commands} and
 * {@code /cluster/commands/{id}} (each target node's state), {@code POST} and {@code GET /cluster/command-keys}.
 */
public final class CommandRoutes {

    /** A signed command or a signer key is a few hundred bytes; this bounds what a caller can make us read. */
    private static final int MAX_BODY_BYTES = 1 << 20;

    private final Cluster cluster;
    private final CommandLog log;
    private final CommandAuthority authority;
    private final ControlEvents events;

    CommandRoutes(Cluster cluster, CommandLog log, CommandAuthority authority, ControlEvents events) {
        this.cluster = cluster;
        this.log = log;
        this.authority = authority;
        this.events = events;
    }

    /** {@code POST /cluster/commands}. */
    void post(Context ctx) {
        String body = new String(JsonBody.readBytes(ctx, MAX_BODY_BYTES), StandardCharsets.UTF_8);
        Caller caller = ApiServer.caller(ctx);
        CommandRequest request = CommandRequest.parse(body);
        Operation.validate(request.op(), request.args());
        long now = System.currentTimeMillis();
        if (request.expiresAt() * 1000L <= now) {
            throw ApiError.invalid("expires_at", "The command expired at " + request.expiresAt() + " (Unix seconds);"
                    + " now is " + now / 1000 + ". Sign it again with a later expires_at.");
        }
        CommandKey key;
        try {
            key = authority.verify(body, ctx.header(CommandSignature.HEADER), request.keyId());
        } catch (CommandAuthority.BadSignature e) {
            throw ApiError.unauthorized("Command signature refused: " + e.getMessage() + ".");
        }
        List<NodeView> targets = targets(request);
        try {
            if (request.targetGroups() != null) {
                for (String g : request.targetGroups()) {
                    if (!caller.mayActOnGroup(g)) {
                        throw ApiError.forbidden("Your token acts on groups " + caller.groups() + ", not on group '"
                                + g + "'.");
                    }
                    CommandAuthority.requireGroupScope(key, g);
                }
            }
            for (NodeView n : targets) {
                if (!caller.mayActOn(n.info().groups())) {
                    throw ApiError.forbidden("Your token acts on groups " + caller.groups() + "; node '" + n.name()
                            + "' is in " + groupsOf(n) + ".");
                }
                CommandAuthority.requireScope(key, n.name(), n.info().groups());
            }
        } catch (CommandAuthority.OutOfScope e) {
            throw ApiError.forbidden("Command signer out of scope: " + e.getMessage() + ".");
        }
        // distinct: a node that rejoined the cluster has two entries until its old one expires
        List<String> names = targets.stream().map(NodeView::name).distinct().sorted().toList();
        CommandRecord command = new CommandRecord(UUID.randomUUID().toString(), request.op(), body,
                ctx.header(CommandSignature.HEADER), request.keyId(), request.nonce(), request.expiresAt(),
                caller.subject(), now, names, request.op().equals(Operation.ROLLING));
        try {
            log.add(command);
        } catch (CommandLog.ReplayException e) {
            throw new ApiError(409, "invalid_request_error", "nonce", "replay", "Command refused: " + e.getMessage()
                    + ".", null);
        }
        events.commandSent(command, caller);
        ctx.status(201).json(view(command));
    }

    /** {@code GET /cluster/commands?limit=N}: newest first. */
    void list(Context ctx) {
        int limit = ctx.queryParamAsClass("limit", Integer.class).getOrDefault(100);
        ObjectNode n = CommandRequest.JSON.createObjectNode();
        n.put("object", "list");
        ArrayNode data = n.putArray("data");
        log.list().stream().limit(Math.max(1, limit)).forEach(c -> data.add(view(c)));
        ctx.json(n);
    }

    /** {@code GET /cluster/commands/{id}}. */
    void get(Context ctx) {
        String id = ctx.pathParam("id");
        CommandRecord command = log.get(id).orElseThrow(() -> ApiError.notFound("id", "command_not_found",
                "No command '" + id + "'; GET /cluster/commands lists them (kept a day past their expiry)."));
        ctx.json(view(command));
    }

    /** {@code POST /cluster/command-keys} (admin): registers or replaces a signer key. */
    void addKey(Context ctx) {
        JsonNode body;
        try {
            body = CommandRequest.JSON.readTree(JsonBody.readBytes(ctx, MAX_BODY_BYTES));
        } catch (Exception e) {
            throw ApiError.malformed("The body is not valid JSON: " + e.getMessage());
        }
        CommandKey key;
        try {
            key = CommandKeys.parse(body);
        } catch (IllegalArgumentException e) {
            throw ApiError.invalid(CommandKeys.fieldOf(e), e.getMessage());
        }
        log.addKey(key);
        events.keyAdded(key, ApiServer.caller(ctx));
        ctx.status(201).json(CommandKeys.view(key));
    }

    /** {@code GET /cluster/command-keys}. */
    void keys(Context ctx) {
        ArrayNode data = CommandRequest.JSON.createArrayNode();
        log.keys().forEach(k -> data.add(CommandKeys.view(k)));
        ctx.json(CommandRequest.JSON.createObjectNode().put("object", "list").set("data", data));
    }

    private List<NodeView> targets(CommandRequest request) {
        List<NodeView> nodes = cluster.registry().nodes();
        if (request.targetAll()) {
            return nodes;
        }
        if (request.targetGroups() != null) {
            return nodes.stream().filter(n -> n.info().groups().stream().anyMatch(request.targetGroups()::contains))
                    .toList();
        }
        List<NodeView> out = new ArrayList<>();
        for (String name : request.targetNodes()) {
            out.add(nodes.stream().filter(n -> n.name().equals(name) || n.id().toString().equals(name)).findFirst()
                    .orElseThrow(() -> ApiError.invalid("target.nodes", "No node '" + name + "' in the cluster;"
                            + " GET /cluster/nodes lists them.")));
        }
        return out;
    }

    private static String groupsOf(NodeView n) {
        return n.info().groups().isEmpty() ? "no group" : "group(s) " + n.info().groups();
    }

    /** The command with each target node's state. */
    ObjectNode view(CommandRecord c) {
        ObjectNode n;
        try {
            n = (ObjectNode) CommandRequest.JSON.readTree(c.body());
        } catch (Exception e) {
            n = CommandRequest.JSON.createObjectNode();
        }
        ObjectNode out = CommandRequest.JSON.createObjectNode();
        out.put("id", c.id());
        out.put("object", "cluster.command");
        out.setAll(n);
        out.put("issued_by", c.issuedBy());
        out.put("created_at", c.createdAtMillis() / 1000.0);
        out.put("rolling", c.rolling());
        long now = System.currentTimeMillis();
        Map<String, NodeAck> acks = log.acks(c);
        List<String> names = new ArrayList<>(c.targetNodes());
        acks.keySet().stream().filter(k -> !names.contains(k)).forEach(names::add);
        ObjectNode nodes = out.putObject("nodes");
        Map<String, Integer> counts = new java.util.TreeMap<>();
        for (String name : names) {
            NodeAck ack = acks.get(name);
            NodeAck.State state = ack != null ? ack.state() : c.expired(now) ? NodeAck.State.EXPIRED
                    : reachable(name) ? NodeAck.State.PENDING : NodeAck.State.UNREACHABLE;
            ObjectNode s = nodes.putObject(name).put("state", state.wire());
            if (ack != null) {
                s.put("acked_at", ack.ackedAtMillis() / 1000.0);
                s.put("ack_ms", ack.ackedAtMillis() - c.createdAtMillis());
                s.put("updated_at", ack.updatedAtMillis() / 1000.0);
                if (ack.result() != null) {
                    try {
                        s.set("result", CommandRequest.JSON.readTree(ack.result()));
                    } catch (Exception e) {
                        s.put("result", ack.result());
                    }
                }
                if (ack.reason() != null) s.put("reason", ack.reason());
            }
            counts.merge(state.wire(), 1, Integer::sum);
        }
        ObjectNode summary = out.putObject("summary");
        counts.forEach(summary::put);
        return out;
    }

    private boolean reachable(String name) {
        return cluster.registry().nodes().stream().filter(v -> v.name().equals(name))
                .anyMatch(v -> v.health() == NodeHealth.HEALTHY);
    }
}
