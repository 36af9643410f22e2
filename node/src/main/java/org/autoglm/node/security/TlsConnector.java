package org.autoglm.node.security;

import java.nio.file.Files;
import java.nio.file.Path;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.ssl.SslContextFactory;

/** The HTTPS listener: a Jetty connector serving the certificate of a PKCS#12 keystore. */
public final class TlsConnector {

    private TlsConnector() {}

    public static ServerConnector create(Server server, HttpConfiguration http, Path keystore, String password,
            String host, int port) {
        if (!Files.isReadable(keystore)) {
            throw new IllegalArgumentException("TLS keystore " + keystore + " is not a readable file");
        }
        SslContextFactory.Server ssl = new SslContextFactory.Server();
        ssl.setKeyStorePath(keystore.toString());
        ssl.setKeyStoreType("PKCS12");
        ssl.setKeyStorePassword(password == null ? "" : password);
        HttpConfiguration https = new HttpConfiguration(http);
        // Clients reach a node by IP as often as by name; the certificate, not SNI, is what is checked.
        SecureRequestCustomizer secure = new SecureRequestCustomizer();
        secure.setSniHostCheck(false);
        https.addCustomizer(secure);
        ServerConnector connector = new ServerConnector(server,
                new SslConnectionFactory(ssl, HttpVersion.HTTP_1_1.asString()), new HttpConnectionFactory(https));
        connector.setHost(host);
        connector.setPort(port);
        return connector;
    }
}
