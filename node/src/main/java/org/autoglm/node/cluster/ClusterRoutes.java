package org.autoglm.node.cluster;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.http.Context;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.autoglm.gossip.Cluster;
import org.autoglm.gossip.lease.LeaseRecord;
import org.autoglm.gossip.registry.NodeHealth;
import org.autoglm.gossip.registry.NodeView;
import org.autoglm.node.api.ApiError;

/**
 * {@code /cluster/*} on every node: the registry with health and load, the leader, a health verdict for the whole
 * cluster, and draining a node (it finishes its work and is given no more).
 */
public final class ClusterRoutes {

    private static final ObjectMapper JSON = new ObjectMapper();
    /** A member change is one short name. */
    private static final long MEMBER_CHANGE_MAX_BYTES = 64 * 1024;
    private final Cluster cluster;

    public ClusterRoutes(Cluster cluster) {
        this.cluster = cluster;
    }

    /** {@code GET /cluster/nodes}: a JSON list, one object per node. */
    public void nodes(Context ctx) {
        ArrayNode list = JSON.createArrayNode();
        for (NodeView node : cluster.registry().nodes()) {
            ObjectNode n = list.addObject();
            n.put("name", node.name());
            n.put("id", node.id().toString());
            n.put("health", node.health().wire());
            n.put("draining", node.draining());
            n.put("anomalous", node.load().anomalous());
            n.put("voter", cluster.members().list().voters().contains(node.name()));
            n.put("removed", cluster.members().isRemoved(node.name()));
            tags(n.putArray("tags"), node.info().tags());
            tags(n.putArray("groups"), node.info().groups());
            n.put("endpoint", node.info().endpoint());
            n.put("model", node.info().model());
            n.put("model_hash", node.info().modelHash());
            n.put("backend", node.info().backend());
            n.put("device", node.info().device());
            n.put("max_batch", node.info().maxBatch());
            n.put("context_length", node.info().contextLength());
            n.put("heartbeat_age_ms", node.heartbeatAgeMillis());
            n.put("leader", cluster.lease().leader().map(l -> l.holderId().equals(node.id())).orElse(false));
            ObjectNode load = n.putObject("load");
            load.put("waiting", node.load().waiting());
            load.put("running", node.load().running());
            load.put("kv_usage", node.load().kvUsage());
            load.put("tokens_per_second", node.load().tokensPerSecond());
            load.put("p50_step_ms", node.load().p50StepMillis());
            load.put("queued_tokens", node.load().queuedTokens());
            load.put("step_age_ms", node.load().stepAgeMillis());
        }
        ctx.json(list);
    }

    /**
     * {@code GET /cluster/requests?limit=N}: the cluster's unfinished requests (waiting for placement, placed, running)
     * from the grid queue, oldest first, with user, priority, class, the node running it and the node that received
     * it. {@code limit} 1-10000 (default 1000); {@code total} says how many there are.
     */
    public void requests(Context ctx) {
        int limit = limitParam(ctx.queryParam("limit"));
        List<org.autoglm.gossip.queue.QueuedRequest> all = new ArrayList<>(cluster.queue().unfinished());
        all.sort(java.util.Comparator.comparingLong(org.autoglm.gossip.queue.QueuedRequest::enqueuedAtMillis));
        long now = System.currentTimeMillis();
        ObjectNode n = JSON.createObjectNode();
        n.put("total", all.size());
        ArrayNode data = n.putArray("data");
        for (org.autoglm.gossip.queue.QueuedRequest r : all.subList(0, Math.min(limit, all.size()))) {
            ObjectNode o = data.addObject();
            o.put("id", r.id());
            o.put("state", r.state().name().toLowerCase(java.util.Locale.ROOT));
            o.put("user", r.user());
            o.put("priority", r.priority());
            o.put("class", r.batch() ? "batch" : "interactive");
            o.put("model", r.model());
            o.put("node", r.assignee() == null ? null : nodeName(r.assignee()));
            o.put("received_by", r.origin() == null ? null : nodeName(r.origin()));
            o.put("age_ms", Math.max(0, now - r.enqueuedAtMillis()));
            o.put("attempts", r.attempts());
            o.put("prompt_tokens", r.promptTokens());
            o.put("max_tokens", r.maxTokens());
        }
        ctx.json(n);
    }

    private static int limitParam(String raw) {
        if (raw == null) {
            return 1000;
        }
        try {
            int limit = Integer.parseInt(raw.trim());
            if (limit >= 1 && limit <= 10_000) {
                return limit;
            }
        } catch (NumberFormatException e) {
            // answered below
        }
        throw ApiError.invalid("limit", "limit must be a whole number from 1 to 10000, got '" + raw + "'.");
    }

    private String nodeName(java.util.UUID id) {
        return cluster.registry().find(id.toString()).map(NodeView::name)
                .orElseGet(() -> java.util.Objects.requireNonNullElse(cluster.grid().nameOf(id), id.toString()));
    }

    /** {@code GET /cluster/leader}: who holds the lease, in which term, until when; 503 when nobody does. */
    public void leader(Context ctx) {
        Optional<LeaseRecord> lease = cluster.lease().leader();
        if (lease.isEmpty()) {
            throw ApiError.unavailable("The cluster has no leader right now" + (cluster.grid().hasQuorum()
                    ? " (an election is under way; retry in a few seconds)."
                    : ": this node sees no majority of the " + cluster.grid().config().expectedNodes
                    + " expected nodes."));
        }
        LeaseRecord l = lease.get();
        ObjectNode n = JSON.createObjectNode();
        n.put("node", l.holderName());
        n.put("id", l.holderId().toString());
        n.put("term", l.term());
        n.put("lease_expires_at", Instant.ofEpochMilli(l.expiresAtMillis()).toString());
        n.put("self", l.holderId().equals(cluster.grid().localId()));
        ctx.json(n);
    }

    /** {@code GET /cluster/health}: 200 when a leader exists and every expected node is healthy, else 503 with why. */
    public void health(Context ctx) {
        List<String> problems = new ArrayList<>();
        int expected = cluster.grid().config().expectedNodes;
        if (!cluster.grid().hasQuorum()) {
            problems.add("this node sees " + cluster.grid().serverNodeIds().size() + " of " + expected
                    + " expected nodes: no majority");
        }
        Optional<LeaseRecord> leader = cluster.lease().leader();
        if (leader.isEmpty()) {
            problems.add("no leader");
        }
        List<NodeView> nodes = cluster.registry().nodes();
        long healthy = nodes.stream().filter(n -> n.health() == NodeHealth.HEALTHY && n.info().model() != null).count();
        for (NodeView node : nodes) {
            if (node.health() == NodeHealth.STALLED) {
                problems.add("node " + node.name() + " is stalled (its engine made no step for "
                        + node.load().stepAgeMillis() + " ms while holding work; its work is placed elsewhere)");
            } else if (node.health() != NodeHealth.HEALTHY) {
                problems.add("node " + node.name() + " is " + node.health().wire() + " (no heartbeat for "
                        + node.heartbeatAgeMillis() + " ms)");
            } else if (node.info().model() == null) {
                // Alive but unable to run anything: still loading, or its model failed to load (see its /ready).
                problems.add("node " + node.name() + " has no model loaded (still loading, or loading failed:"
                        + " see its /ready)");
            }
        }
        if (healthy < expected) {
            problems.add(healthy + " of " + expected + " expected nodes are healthy");
        }
        ObjectNode n = JSON.createObjectNode();
        n.put("status", problems.isEmpty() ? "healthy" : "unhealthy");
        n.put("leader", leader.map(LeaseRecord::holderName).orElse(null));
        n.put("term", leader.map(LeaseRecord::term).orElse(0L));
        n.put("healthy_nodes", healthy);
        n.put("expected_nodes", expected);
        tags(n.putArray("problems"), problems);
        ctx.status(problems.isEmpty() ? 200 : 503).json(n);
    }

    /** {@code POST /cluster/nodes/{id}/drain} and {@code /undrain}; the id may also be the node's name. */
    public void drain(Context ctx, boolean drain) {
        String id = ctx.pathParam("id");
        NodeView node = cluster.registry().find(id).orElseThrow(() -> ApiError.notFound("id", "node_not_found",
                "No node '" + id + "' in the cluster; GET /cluster/nodes lists them."));
        org.autoglm.node.security.Caller caller = org.autoglm.node.api.ApiServer.caller(ctx);
        if (!caller.mayActOn(node.info().groups())) {
            throw ApiError.forbidden("Your token acts on groups " + caller.groups() + "; node '" + node.name() + "' is in "
                    + (node.info().groups().isEmpty() ? "no group" : "group(s) " + node.info().groups()) + ".");
        }
        cluster.registry().setDraining(node.id(), drain);
        ObjectNode n = JSON.createObjectNode();
        n.put("id", node.id().toString());
        n.put("name", node.name());
        n.put("draining", drain);
        ctx.json(n);
    }

    /** {@code GET /cluster/members}: the voting set, the majority it needs, removed nodes, and who is in view. */
    public void members(Context ctx) {
        ctx.json(membersJson(cluster.members().list()));
    }

    /** {@code POST /cluster/members} with {@code {"add": "name"}} or {@code {"remove": "name"}} (admin). */
    public void changeMembers(Context ctx) {
        com.fasterxml.jackson.databind.JsonNode body =
                org.autoglm.node.api.JsonBody.readObject(ctx, MEMBER_CHANGE_MAX_BYTES);
        if (body.size() != 1 || !(body.has("add") || body.has("remove"))) {
            throw ApiError.invalid(null, "Send exactly one of {\"add\": \"name\"} or {\"remove\": \"name\"}.");
        }
        String field = body.has("add") ? "add" : "remove";
        com.fasterxml.jackson.databind.JsonNode value = body.get(field);
        if (!value.isTextual() || value.asText().isBlank() || value.asText().length() > 200) {
            throw ApiError.invalid(field, "'" + field + "' must be a node name (its --node-name), 1 to 200 characters.");
        }
        String name = value.asText();
        if (!cluster.grid().hasQuorum()) {
            throw ApiError.unavailable("This node sees no majority of the voters " + cluster.members().list().voters()
                    + ", so it may not change them (the other side could be changing them too); send this to a node"
                    + " on the majority side.");
        }
        try {
            var after = field.equals("add") ? cluster.members().add(name) : cluster.members().remove(name);
            ctx.json(membersJson(after));
        } catch (IllegalStateException e) {
            throw new ApiError(409, "invalid_request_error", field, "conflict", e.getMessage(), null);
        } catch (RuntimeException e) {
            throw ApiError.unavailable("The member list could not be changed now (" + e.getMessage()
                    + "); retry in a few seconds.");
        }
    }

    private ObjectNode membersJson(org.autoglm.gossip.members.MemberList list) {
        ObjectNode n = JSON.createObjectNode();
        n.put("version", list.version());
        n.put("seats", list.seats());
        n.put("quorum", list.quorum());
        tags(n.putArray("voters"), list.voters());
        tags(n.putArray("removed"), list.removed());
        ArrayNode visible = n.putArray("visible");
        for (NodeView node : cluster.registry().nodes()) {
            ObjectNode v = visible.addObject();
            v.put("name", node.name());
            v.put("voter", list.voters().contains(node.name()));
            v.put("removed", list.removed().contains(node.name()));
            v.put("health", node.health().wire());
        }
        n.put("has_quorum", cluster.grid().hasQuorum());
        return n;
    }

    private static void tags(ArrayNode array, List<String> values) {
        values.forEach(array::add);
    }
}
