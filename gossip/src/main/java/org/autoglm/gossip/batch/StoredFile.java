package org.autoglm.gossip.batch;

import java.io.Serializable;

/**
 * A file's metadata in the grid (OpenAI's file object); its bytes are chunks beside it in {@link FileStore}. Written
 * after the last chunk, so a file that is listed is whole. A plain class: Ignite's binary marshaller cannot write
 * records.
 */
public final class StoredFile implements Serializable {

    private static final long serialVersionUID = 1L;

    private String id;
    private String owner;
    private String filename;
    private String purpose;
    private long bytes;
    private long createdAt;
    private int chunks;
    private int lines;

    private StoredFile() {}

    public StoredFile(String id, String owner, String filename, String purpose, long bytes, long createdAt, int chunks,
                      int lines) {
        this.id = id;
        this.owner = owner;
        this.filename = filename;
        this.purpose = purpose;
        this.bytes = bytes;
        this.createdAt = createdAt;
        this.chunks = chunks;
        this.lines = lines;
    }

    public String id() { return id; }
    /** The JWT subject that uploaded it (or whose batch wrote it). */
    public String owner() { return owner; }
    public String filename() { return filename; }
    /** {@code batch} for uploads, {@code batch_output} for what a batch writes. */
    public String purpose() { return purpose; }
    public long bytes() { return bytes; }
    /** Epoch seconds. */
    public long createdAt() { return createdAt; }
    public int chunks() { return chunks; }
    /** Non-empty lines. */
    public int lines() { return lines; }
}
