package org.autoglm.gossip.grid;

import java.util.Collection;
import java.util.List;
import org.apache.ignite.IgniteIllegalStateException;
import org.apache.ignite.Ignition;
import org.apache.ignite.cluster.ClusterNode;
import org.apache.ignite.configuration.TopologyValidator;

/**
 * The majority guard: a cache with this validator refuses writes while the topology holds no strict majority of the
 * voting set, so the smaller side of a partition can neither take the lease nor assign or claim work. The voters are
 * those of the member list ({@code Members}), as this node's {@link GridNode} last read it: after an admin added a
 * fourth voter, two nodes are no majority even though {@code --expected-nodes} was 3. Until the member list is known
 * (or where Ignite validates outside its own threads) a majority of {@code --expected-nodes} server nodes counts.
 */
public final class MajorityValidator implements TopologyValidator {

    private static final long serialVersionUID = 2L;
    private final int quorum;

    public MajorityValidator(int expectedNodes) {
        this.quorum = expectedNodes / 2 + 1;
    }

    @Override
    public boolean validate(Collection<ClusterNode> nodes) {
        List<ClusterNode> servers = nodes.stream().filter(node -> !node.isClient()).toList();
        GridNode local = localGrid();
        return local != null ? local.hasQuorum(servers) : servers.size() >= quorum;
    }

    /** The grid node whose thread validates (Ignite validates a topology on its exchange thread), or null. */
    private static GridNode localGrid() {
        try {
            return GridNode.running(Ignition.localIgnite().name());
        } catch (IgniteIllegalStateException notAGridThread) {
            return null;
        }
    }
}
