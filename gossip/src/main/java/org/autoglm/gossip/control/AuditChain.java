package org.autoglm.gossip.control;

import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;
import org.apache.ignite.IgniteCache;
import org.apache.ignite.cache.CacheAtomicityMode;
import org.apache.ignite.transactions.Transaction;
import org.apache.ignite.transactions.TransactionConcurrency;
import org.apache.ignite.transactions.TransactionIsolation;
import org.autoglm.gossip.grid.GridCaches;
import org.autoglm.gossip.grid.GridNode;
import org.autoglm.gossip.grid.OnCurrentGrid;

/**
 * The cluster-wide, tamper-evident audit log: entries numbered from 1 in one replicated transactional cache, each
 * holding the SHA-256 of the one before and signed by the node that wrote it. A node signs with an Ed25519 key made
 * when it starts; the public half is kept in the grid under the key's id, so any node can verify the whole chain.
 * Appends take the head's lock in a pessimistic transaction, so entries from all nodes form one chain. It follows this
 * process's current grid node: a node that rejoined the cluster on a fresh one publishes its key there under the new
 * grid id, and the entries it signed before stay verifiable under the old one.
 */
public final class AuditChain {

    static final String ENTRIES = "autoglm-audit";
    static final String HEAD = "autoglm-audit-head";
    static final String SIGNERS = "autoglm-audit-signers";
    private static final String HEAD_KEY = "head";

    private final KeyPair key;
    private final OnCurrentGrid<Caches> caches;

    /** The chain's caches on one grid node, and the id this node's key has there (its public half published). */
    private record Caches(GridNode grid, IgniteCache<Long, AuditEntry> entries, IgniteCache<String, Long> head,
                          IgniteCache<String, String> signers, String keyId) {}

    /** @param grid the grid node this process is in now (a rejoin replaces it) */
    public AuditChain(java.util.function.Supplier<GridNode> grid) {
        try {
            this.key = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("this JDK has no Ed25519", e);
        }
        this.caches = new OnCurrentGrid<>(grid, this::open);
        caches.get();
    }

    private Caches open(GridNode grid) {
        GridCaches.createAll(grid, GridCaches.replicated(SIGNERS, CacheAtomicityMode.ATOMIC),
                GridCaches.replicated(ENTRIES, CacheAtomicityMode.TRANSACTIONAL),
                GridCaches.replicated(HEAD, CacheAtomicityMode.TRANSACTIONAL));
        IgniteCache<String, String> signers = grid.ignite().cache(SIGNERS);
        String keyId = grid.name() + "@" + grid.localId();
        signers.put(keyId, Base64.getEncoder().encodeToString(key.getPublic().getEncoded()));
        return new Caches(grid, grid.ignite().cache(ENTRIES), grid.ignite().cache(HEAD), signers, keyId);
    }

    /** Appends an entry written by this node; returns it. */
    public AuditEntry append(String actor, String action, String target, String detail) {
        Caches c = caches.get();
        GridNode grid = c.grid();
        IgniteCache<Long, AuditEntry> entries = c.entries();
        IgniteCache<String, Long> head = c.head();
        try (Transaction tx = grid.ignite().transactions().txStart(TransactionConcurrency.PESSIMISTIC,
                TransactionIsolation.REPEATABLE_READ)) {
            Long last = head.get(HEAD_KEY); // locks the head: appends from all nodes queue here
            long seq = last == null ? 1 : last + 1;
            String prev = last == null ? AuditEntry.GENESIS : entries.get(last).hash();
            long now = System.currentTimeMillis();
            String hash = AuditEntry.hashOf(prev, seq, now, grid.name(), actor, action, target, detail);
            AuditEntry entry = new AuditEntry(seq, now, grid.name(), actor, action, target, detail, prev, hash, c.keyId(),
                    sign(hash));
            entries.put(seq, entry);
            head.put(HEAD_KEY, seq);
            tx.commit();
            return entry;
        }
    }

    /** Entries with {@code seq > since}, oldest first, at most {@code limit}. */
    public List<AuditEntry> read(long since, int limit) {
        long last = length();
        TreeSet<Long> keys = new TreeSet<>();
        for (long s = Math.max(1, since + 1); s <= last && keys.size() < limit; s++) keys.add(s);
        List<AuditEntry> out = new ArrayList<>(caches.get().entries().getAll(keys).values());
        out.sort(java.util.Comparator.comparingLong(AuditEntry::seq));
        return out;
    }

    public long length() {
        return Optional.ofNullable(caches.get().head().get(HEAD_KEY)).orElse(0L);
    }

    /** The result of {@link #verify}: intact, or the first broken entry and why. */
    public record Verdict(boolean intact, long entries, Long brokenSeq, String reason) {}

    /** Walks the chain from the first entry: links, hashes and signatures. */
    public Verdict verify() {
        long last = length();
        String prev = AuditEntry.GENESIS;
        IgniteCache<Long, AuditEntry> entries = caches.get().entries();
        for (long s = 1; s <= last; s++) {
            AuditEntry e = entries.get(s);
            if (e == null) {
                return new Verdict(false, last, s, "entry " + s + " is missing");
            }
            if (e.seq() != s) {
                return new Verdict(false, last, s, "entry " + s + " says it is entry " + e.seq());
            }
            if (!e.prevHash().equals(prev)) {
                return new Verdict(false, last, s, "entry " + s + " does not link to entry " + (s - 1)
                        + " (its previous hash differs)");
            }
            if (!e.expectedHash().equals(e.hash())) {
                return new Verdict(false, last, s, "entry " + s + " was changed after it was written (hash mismatch)");
            }
            String reason = checkSignature(e);
            if (reason != null) {
                return new Verdict(false, last, s, "entry " + s + ": " + reason);
            }
            prev = e.hash();
        }
        return new Verdict(true, last, null, null);
    }

    /** Replaces an entry as is: for tests that show tampering is found. */
    public void overwriteForTest(AuditEntry e) {
        caches.get().entries().put(e.seq(), e);
    }

    private String checkSignature(AuditEntry e) {
        String encoded = caches.get().signers().get(e.signerKeyId());
        if (encoded == null) {
            return "signed by unknown key '" + e.signerKeyId() + "'";
        }
        try {
            PublicKey pub = KeyFactory.getInstance("Ed25519").generatePublic(
                    new X509EncodedKeySpec(Base64.getDecoder().decode(encoded)));
            Signature v = Signature.getInstance("Ed25519");
            v.initVerify(pub);
            v.update(e.hash().getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            return v.verify(Base64.getDecoder().decode(e.signature())) ? null
                    : "the signature of node '" + e.node() + "' does not match";
        } catch (GeneralSecurityException | IllegalArgumentException ex) {
            return "the signature cannot be checked: " + ex.getMessage();
        }
    }

    private String sign(String hash) {
        try {
            Signature s = Signature.getInstance("Ed25519");
            s.initSign(key.getPrivate());
            s.update(hash.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            return Base64.getEncoder().encodeToString(s.sign());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }
}
