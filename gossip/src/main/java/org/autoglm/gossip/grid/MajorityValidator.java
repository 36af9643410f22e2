package org.autoglm.gossip.grid;

import java.util.Collection;
import org.apache.ignite.cluster.ClusterNode;
import org.apache.ignite.configuration.TopologyValidator;

/**
 * The majority guard: a cache with this validator refuses writes while the topology holds fewer than a strict
 * majority of the expected nodes, so the smaller side of a partition can neither take the lease nor assign
 * or claim work.
 */
public final class MajorityValidator implements TopologyValidator {

    private static final long serialVersionUID = 1L;
    private final int quorum;

    public MajorityValidator(int expectedNodes) {
        this.quorum = expectedNodes / 2 + 1;
    }

    @Override
    public boolean validate(Collection<ClusterNode> nodes) {
        return nodes.stream().filter(node -> !node.isClient()).count() >= quorum;
    }
}
