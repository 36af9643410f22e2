package org.autoglm.gossip.grid;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.Map;
import org.apache.ignite.spi.IgniteSpiOperationTimeoutException;
import org.apache.ignite.spi.IgniteSpiOperationTimeoutHelper;
import org.apache.ignite.spi.discovery.tcp.TcpDiscoverySpi;

/**
 * Discovery that reaches some peer addresses through another address ({@code --grid-route PEER=VIA}): a relay, a
 * NAT mapping, or a test's TCP proxy that cuts, delays or blackholes the link between two nodes. Every discovery
 * connection this node opens, the ring's and the join's, goes through here.
 */
final class RoutedDiscoverySpi extends TcpDiscoverySpi {

    private final Map<InetSocketAddress, InetSocketAddress> routes;

    RoutedDiscoverySpi(Map<InetSocketAddress, InetSocketAddress> routes) {
        this.routes = Map.copyOf(routes);
    }

    @Override
    protected Socket openSocket(Socket sock, InetSocketAddress remote, IgniteSpiOperationTimeoutHelper timeout)
            throws IOException, IgniteSpiOperationTimeoutException {
        return super.openSocket(sock, route(remote), timeout);
    }

    private InetSocketAddress route(InetSocketAddress remote) {
        InetSocketAddress via = routes.get(remote);
        if (via == null && remote.getAddress() != null) {
            via = routes.get(new InetSocketAddress(remote.getAddress().getHostAddress(), remote.getPort()));
        }
        return via == null ? remote : via;
    }
}
