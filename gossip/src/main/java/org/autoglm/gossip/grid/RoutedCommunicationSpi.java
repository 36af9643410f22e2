package org.autoglm.gossip.grid;

import java.net.InetSocketAddress;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.ignite.IgniteCheckedException;
import org.apache.ignite.cluster.ClusterMetrics;
import org.apache.ignite.cluster.ClusterNode;
import org.apache.ignite.internal.util.nio.GridCommunicationClient;
import org.apache.ignite.lang.IgniteProductVersion;
import org.apache.ignite.spi.communication.tcp.TcpCommunicationSpi;

/**
 * Communication that reaches some peers' communication addresses through another address ({@code --grid-route
 * PEER=VIA}, where PEER is the peer's grid host and port + 1000), as {@link RoutedDiscoverySpi} does for discovery:
 * with both, every connection between two nodes can run through a relay, or through a test's TCP proxy that cuts,
 * delays or blackholes that one link. A peer publishes its communication address in its node attributes; a
 * connection to a routed peer sees that peer with the route's address instead.
 */
final class RoutedCommunicationSpi extends TcpCommunicationSpi {

    private final Map<InetSocketAddress, InetSocketAddress> routes;

    RoutedCommunicationSpi(Map<InetSocketAddress, InetSocketAddress> routes) {
        this.routes = Map.copyOf(routes);
    }

    @Override
    protected GridCommunicationClient createTcpClient(ClusterNode node, int connIdx) throws IgniteCheckedException {
        InetSocketAddress via = route(node);
        return super.createTcpClient(via == null ? node : new Rerouted(node, via, createSpiAttributeName(ATTR_ADDRS),
                createSpiAttributeName(ATTR_HOST_NAMES), createSpiAttributeName(ATTR_PORT),
                createSpiAttributeName(ATTR_EXT_ADDRS)), connIdx);
    }

    /** The route of the first of the peer's published communication addresses that has one, or null. */
    private InetSocketAddress route(ClusterNode node) {
        Object port = node.attribute(createSpiAttributeName(ATTR_PORT));
        Object addresses = node.attribute(createSpiAttributeName(ATTR_ADDRS));
        if (!(port instanceof Integer p) || !(addresses instanceof Collection<?> hosts)) {
            return null;
        }
        for (Object host : hosts) {
            InetSocketAddress via = routes.get(new InetSocketAddress(String.valueOf(host), p));
            if (via != null) {
                return via;
            }
        }
        return null;
    }

    /** A peer as this node's communication sees it: its own attributes, but the route as its only address. */
    private record Rerouted(ClusterNode node, InetSocketAddress via, String addressesKey, String hostNamesKey,
                            String portKey, String externalKey) implements ClusterNode {
        @SuppressWarnings("unchecked")
        @Override
        public <T> T attribute(String name) {
            if (name.equals(addressesKey)) {
                return (T) List.of(via.getHostString());
            }
            if (name.equals(hostNamesKey)) {
                return (T) List.of();
            }
            if (name.equals(portKey)) {
                return (T) Integer.valueOf(via.getPort());
            }
            if (name.equals(externalKey)) {
                return null;
            }
            return node.attribute(name);
        }

        @Override public UUID id() { return node.id(); }
        @Override public Object consistentId() { return node.consistentId(); }
        @Override public ClusterMetrics metrics() { return node.metrics(); }
        @Override public Map<String, Object> attributes() { return node.attributes(); }
        @Override public Collection<String> addresses() { return List.of(via.getHostString()); }
        @Override public Collection<String> hostNames() { return List.of(); }
        @Override public long order() { return node.order(); }
        @Override public IgniteProductVersion version() { return node.version(); }
        @Override public boolean isLocal() { return node.isLocal(); }
        @Override public boolean isClient() { return node.isClient(); }

        @Override
        public boolean equals(Object other) {
            return other instanceof ClusterNode peer && peer.id().equals(node.id());
        }

        @Override
        public int hashCode() {
            return node.id().hashCode();
        }
    }
}
