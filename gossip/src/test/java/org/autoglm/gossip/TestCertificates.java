package org.autoglm.gossip;

import java.io.OutputStream;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/** A throwaway certificate authority for TLS tests: PKCS#12 keystores and a truststore, made in-process. */
final class TestCertificates {

    private static final AtomicLong SERIAL = new AtomicLong(System.currentTimeMillis());

    private final KeyPair caKeys;
    private final X509Certificate caCert;
    private final char[] password;

    TestCertificates(String password) throws Exception {
        this.password = password.toCharArray();
        this.caKeys = keyPair();
        this.caCert = certificate("autoglm-test-ca", caKeys, "autoglm-test-ca", caKeys.getPrivate(), true);
    }

    /** A keystore with a key whose certificate the CA signed. */
    void signedKeystore(Path file, String name) throws Exception {
        KeyPair keys = keyPair();
        X509Certificate cert = certificate(name, keys, "autoglm-test-ca", caKeys.getPrivate(), false);
        write(file, name, keys.getPrivate(), cert, caCert);
    }

    /** A keystore with a self-signed certificate the CA never saw. */
    void selfSignedKeystore(Path file, String name) throws Exception {
        KeyPair keys = keyPair();
        write(file, name, keys.getPrivate(), certificate(name, keys, name, keys.getPrivate(), false));
    }

    /** A truststore holding the CA certificate. */
    void truststore(Path file) throws Exception {
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, password);
        store.setCertificateEntry("ca", caCert);
        try (OutputStream out = Files.newOutputStream(file)) {
            store.store(out, password);
        }
    }

    private void write(Path file, String alias, PrivateKey key, Certificate... chain) throws Exception {
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, password);
        store.setKeyEntry(alias, key, password, chain);
        try (OutputStream out = Files.newOutputStream(file)) {
            store.store(out, password);
        }
    }

    private static KeyPair keyPair() throws Exception {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
        generator.initialize(256);
        return generator.generateKeyPair();
    }

    private static X509Certificate certificate(String subject, KeyPair keys, String issuer, PrivateKey signer,
                                               boolean ca) throws Exception {
        Instant now = Instant.now();
        X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(new X500Name("CN=" + issuer),
                BigInteger.valueOf(SERIAL.incrementAndGet()), Date.from(now.minus(Duration.ofHours(1))),
                Date.from(now.plus(Duration.ofDays(1))), new X500Name("CN=" + subject), keys.getPublic());
        builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
        return new JcaX509CertificateConverter().getCertificate(
                builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(signer)));
    }
}
