package org.autoglm.gossip.grid;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * When a TLS node that lists peers comes up alone, Ignite says nothing if the peers refused its certificate: it just
 * forms a grid of one. This probe connects to each listed peer once with the node's own TLS settings and logs one
 * line for each that turns the certificate away, so that the operator knows which file to fix.
 */
final class TlsRefusalProbe {

    private static final Logger log = LoggerFactory.getLogger(TlsRefusalProbe.class);
    private static final int TIMEOUT_MILLIS = 5_000; // a loaded peer may take seconds to check our certificate
    private static final int MAX_PEERS = 16;

    private TlsRefusalProbe() {}

    /** Probes the peers of {@code config} other than itself; returns how many refused this node's certificate. */
    static int run(GridConfig config, TrustManager[] trust) {
        SSLContext context;
        try {
            javax.net.ssl.KeyManagerFactory keys = javax.net.ssl.KeyManagerFactory.getInstance(
                    javax.net.ssl.KeyManagerFactory.getDefaultAlgorithm());
            java.security.KeyStore store = java.security.KeyStore.getInstance(
                    config.tls.keystore.toString().endsWith(".jks") ? "JKS" : "PKCS12");
            try (var in = java.nio.file.Files.newInputStream(config.tls.keystore)) {
                store.load(in, config.tls.keystorePassword.toCharArray());
            }
            keys.init(store, config.tls.keystorePassword.toCharArray());
            context = SSLContext.getInstance("TLSv1.3");
            context.init(keys.getKeyManagers(), trust, null);
        } catch (IOException | java.security.GeneralSecurityException e) {
            return 0; // Ignite read the same files a moment ago; nothing new to say
        }
        int refused = 0;
        for (InetSocketAddress peer : peers(config)) {
            String reason = refusal(context, peer);
            if (reason != null) {
                refused++;
                log.warn("grid TLS: the peer at {} turned this node away ({}): is --grid-tls-keystore {} signed by the "
                        + "cluster CA that the peers trust?", peer, reason, config.tls.keystore);
            }
        }
        return refused;
    }

    /** The TLS alert with which {@code peer} refused us, or null (accepted, or not there). */
    private static String refusal(SSLContext context, InetSocketAddress peer) {
        try (SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket()) {
            socket.connect(peer, TIMEOUT_MILLIS);
            socket.setSoTimeout(TIMEOUT_MILLIS);
            socket.startHandshake();
            // TLS 1.3 checks the client's certificate after the handshake: a refusal arrives on the first read.
            socket.getInputStream().read();
            return null;
        } catch (SSLException e) {
            String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            return message.contains("fatal alert") ? message : null;
        } catch (SocketTimeoutException e) {
            return null; // the peer is waiting for our first message: it accepted the certificate
        } catch (IOException e) {
            return null; // not listening: nothing to report about TLS
        }
    }

    private static List<InetSocketAddress> peers(GridConfig config) {
        List<InetSocketAddress> out = new ArrayList<>();
        for (String peer : config.peers) {
            int colon = peer.lastIndexOf(':');
            String host = peer.substring(0, colon);
            String[] range = peer.substring(colon + 1).split("\\.\\.");
            int from = Integer.parseInt(range[0]);
            int to = range.length > 1 ? Integer.parseInt(range[1]) : from;
            for (int port = from; port <= to && out.size() < MAX_PEERS; port++) {
                boolean self = port == config.gridPort && (host.equals(config.host) || GridConfig.loopback(host)
                        && GridConfig.loopback(config.host));
                if (!self) {
                    out.add(new InetSocketAddress(host, port));
                }
            }
        }
        return out;
    }
}
