package org.autoglm.gossip.workflow;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/**
 * A workflow template as the grid keeps it: every version's JSON text in order (version N at index N-1), with who
 * wrote it and when. Versions are never changed, only added; deleting a template removes the record.
 */
public final class StoredWorkflow implements Serializable {

    private static final long serialVersionUID = 1L;

    private String name;
    private ArrayList<String> versions = new ArrayList<>();
    private ArrayList<String> authors = new ArrayList<>();
    private ArrayList<Long> createdAt = new ArrayList<>();

    private StoredWorkflow() {}

    public static StoredWorkflow named(String name) {
        StoredWorkflow w = new StoredWorkflow();
        w.name = name;
        return w;
    }

    /** A copy with {@code json} as the next version. */
    public StoredWorkflow withVersion(String json, String author, long createdAtMillis) {
        StoredWorkflow w = new StoredWorkflow();
        w.name = name;
        w.versions = new ArrayList<>(versions);
        w.authors = new ArrayList<>(authors);
        w.createdAt = new ArrayList<>(createdAt);
        w.versions.add(json);
        w.authors.add(author);
        w.createdAt.add(createdAtMillis);
        return w;
    }

    public String name() { return name; }
    /** The newest version number (1 for the first). */
    public int latest() { return versions.size(); }
    /** The JSON of version {@code n}, or null when there is no such version. */
    public String json(int n) { return n >= 1 && n <= versions.size() ? versions.get(n - 1) : null; }
    public String author(int n) { return authors.get(n - 1); }
    public long createdAt(int n) { return createdAt.get(n - 1); }
    public List<String> versions() { return List.copyOf(versions); }
}
