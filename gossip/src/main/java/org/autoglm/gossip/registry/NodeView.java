package org.autoglm.gossip.registry;

import java.util.UUID;

/**
 * One registry row as seen from this node, for placement and {@code GET /cluster/nodes}.
 *
 * @param info              the node's fixed attributes
 * @param load              its last published load
 * @param health            healthy / suspect / dead
 * @param draining          finishing its work and taking none
 * @param heartbeatAgeMillis time since this node last saw its heartbeat (own monotonic clock)
 */
public record NodeView(NodeInfo info, NodeLoad load, NodeHealth health, boolean draining, long heartbeatAgeMillis) {

    public UUID id() {
        return info.nodeId();
    }

    public String name() {
        return info.name();
    }
}
