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
 * grid port). It can cut the link (open connections are closed, new ones refused), lose one direction (one-way loss:
 * nothing gets through that way until the loss heals), or delay every chunk (added latency). No root, no iptables: the
 * nodes are told to reach each other through these ({@code --grid-route}).
 *
 * <p>One-way loss holds the bytes back rather than throwing them away: packets lost on a TCP connection are sent
 * again, so the receiving side sees its stream stall, never a stream with a hole in it. Dropping bytes out of the middle
 * of a stream (as this proxy once did) corrupts the framing of every message after the hole, a failure no network
 * produces, and the nodes' views never agreed again after such a "loss".
 */
final class TcpProxy implements AutoCloseable {

    private final ServerSocket server;
    private final InetSocketAddress target;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private volatile boolean cut;
    private volatile boolean loseOutbound;
    private volatile boolean loseInbound;
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

    /** Bytes from the connecting node to the target stop getting through until {@link #heal} (the reverse still flows). */
    void loseOutbound() {
        loseOutbound = true;
    }

    /** Bytes from the target back to the connecting node stop getting through until {@link #heal}. */
    void loseInbound() {
        loseInbound = true;
    }

    void delay(int millis) {
        delayMillis = millis;
    }

    void heal() {
        cut = false;
        loseOutbound = false;
        loseInbound = false;
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
                    // Lost this way: held (and nothing more read) until the loss heals, as TCP would resend it then.
                    while ((outbound ? loseOutbound : loseInbound) && !cut && !closed) {
                        Thread.sleep(5);
                    }
                    if (cut || closed) {
                        break;
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
