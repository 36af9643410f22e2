package org.autoglm.gossip.grid;

import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The grid's trust check (certificates signed by the cluster CA), which says in one log line why it turned a peer
 * away: Ignite itself drops a refused handshake without a word on the refusing side.
 */
final class LoggingTrustManager extends X509ExtendedTrustManager {

    private static final Logger log = LoggerFactory.getLogger(LoggingTrustManager.class);

    private final X509ExtendedTrustManager delegate;

    private LoggingTrustManager(X509ExtendedTrustManager delegate) {
        this.delegate = delegate;
    }

    /** The trust managers of {@code truststore}, each wrapped. */
    static TrustManager[] of(Path truststore, String password, String type) {
        try (InputStream in = Files.newInputStream(truststore)) {
            KeyStore store = KeyStore.getInstance(type);
            store.load(in, password.toCharArray());
            TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            factory.init(store);
            TrustManager[] managers = factory.getTrustManagers();
            for (int i = 0; i < managers.length; i++) {
                if (managers[i] instanceof X509ExtendedTrustManager x) {
                    managers[i] = new LoggingTrustManager(x);
                }
            }
            return managers;
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalArgumentException("--grid-tls-truststore " + truststore + " cannot be read: "
                    + e.getMessage() + " (is the password right?)", e);
        }
    }

    /** The one line for a refused certificate; {@code peer} is its address when known. */
    static String refusal(String direction, String peer, X509Certificate[] chain, CertificateException e) {
        String subject = chain == null || chain.length == 0 ? "none" : chain[0].getSubjectX500Principal().getName();
        String issuer = chain == null || chain.length == 0 ? "none" : chain[0].getIssuerX500Principal().getName();
        return "grid TLS: turned away " + direction + " " + peer + ": its certificate '" + subject + "' (issuer '"
                + issuer + "') is not signed by the cluster CA in --grid-tls-truststore (" + QuietIgniteLogger.oneLine(e.getMessage(),
                null) + ")";
    }

    private static String address(Socket socket) {
        return socket == null || socket.getRemoteSocketAddress() == null ? "?" : socket.getRemoteSocketAddress().toString();
    }

    private static String address(SSLEngine engine) {
        return engine == null || engine.getPeerHost() == null ? "?" : engine.getPeerHost() + ":" + engine.getPeerPort();
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        try {
            delegate.checkClientTrusted(chain, authType, socket);
        } catch (CertificateException e) {
            log.warn(refusal("a joining peer from", address(socket), chain, e));
            throw e;
        }
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        try {
            delegate.checkClientTrusted(chain, authType, engine);
        } catch (CertificateException e) {
            log.warn(refusal("a peer connecting from", address(engine), chain, e));
            throw e;
        }
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        try {
            delegate.checkClientTrusted(chain, authType);
        } catch (CertificateException e) {
            log.warn(refusal("a peer", "?", chain, e));
            throw e;
        }
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        try {
            delegate.checkServerTrusted(chain, authType, socket);
        } catch (CertificateException e) {
            log.warn(refusal("the peer at", address(socket), chain, e));
            throw e;
        }
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        try {
            delegate.checkServerTrusted(chain, authType, engine);
        } catch (CertificateException e) {
            log.warn(refusal("the peer at", address(engine), chain, e));
            throw e;
        }
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        try {
            delegate.checkServerTrusted(chain, authType);
        } catch (CertificateException e) {
            log.warn(refusal("the peer", "?", chain, e));
            throw e;
        }
    }

    /**
     * No issuer hint in the certificate request: a peer with a certificate from another CA then still sends it (else it
     * sends none, the handshake fails inside the JDK before any check here, and the refusal goes unlogged). What is
     * trusted does not change: every chain is still checked against the cluster CA.
     */
    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return new X509Certificate[0];
    }
}
