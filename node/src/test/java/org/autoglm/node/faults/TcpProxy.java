package org.autoglm.node.faults;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A loopback TCP proxy the harness owns for one direction of one pair of nodes (node A's connections to node B's
 * grid port). It can cut the link (open connections are closed, new ones refused), blackhole one direction (bytes
 * are read and dropped, the connection stays up: one-way loss), or delay every chunk (added latency). No root, no
 * iptables: the nodes are told to reach each other through these ({@code --grid-route}).
 */
final class TcpProxy implements AutoCloseable {

    private final ServerSocket server;
    private final InetSocketAddress target;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private volatile boolean cut;
    private volatile boolean dropOutbound;
    private volatile boolean dropInbound;
    private volatile int delayMillis;
    private volatile boolean closed;

    TcpProxy(InetSocketAddress target) throws IOException {
        this.target = target;
        this.server = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
        Thread accept = new Thread(this::acceptLoop, "proxy-" + port() + "-to-" + target.getPort());
        accept.setDaemon(true);
        accept.start();
    }

    int port() {
        return server.getLocalPort();
    }

    /** Cuts the link: closes what is open and refuses new connections until {@link #heal}. */
    void cut() {
        cut = true;
        open.forEach(TcpProxy::closeQuietly);
    }

    /** Bytes from the connecting node to the target are dropped (the reverse direction still flows). */
    void dropOutbound() {
        dropOutbound = true;
    }

    /** Bytes from the target back to the connecting node are dropped. */
    void dropInbound() {
        dropInbound = true;
    }

    void delay(int millis) {
        delayMillis = millis;
    }

    void heal() {
        cut = false;
        dropOutbound = false;
        dropInbound = false;
        delayMillis = 0;
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                Socket client = server.accept();
                if (cut) {
                    closeQuietly(client);
                    continue;
                }
                Socket upstream = new Socket();
                try {
                    upstream.connect(target, 2_000);
                } catch (IOException e) {
                    closeQuietly(client);
                    closeQuietly(upstream);
                    continue;
                }
                client.setTcpNoDelay(true);
                upstream.setTcpNoDelay(true);
                open.add(client);
                open.add(upstream);
                pump(client, upstream, true);
                pump(upstream, client, false);
            } catch (IOException e) {
                if (closed) {
                    return;
                }
            }
        }
    }

    private void pump(Socket from, Socket to, boolean outbound) {
        Thread t = new Thread(() -> {
            byte[] buffer = new byte[16 * 1024];
            try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                int n;
                while ((n = in.read(buffer)) >= 0) {
                    if (cut) {
                        break;
                    }
                    if (outbound ? dropOutbound : dropInbound) {
                        continue; // blackholed: read and dropped
                    }
                    int delay = delayMillis;
                    if (delay > 0) {
                        Thread.sleep(delay);
                    }
                    out.write(buffer, 0, n);
                    out.flush();
                }
            } catch (IOException | InterruptedException e) {
                // the link was cut or a side closed
            } finally {
                closeQuietly(from);
                closeQuietly(to);
                open.remove(from);
                open.remove(to);
            }
        }, "proxy-pump-" + port());
        t.setDaemon(true);
        t.start();
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }

    @Override
    public void close() {
        closed = true;
        cut();
        try {
            server.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }
}
