package org.autoglm.gossip.batch;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Comparator;
import java.util.List;
import javax.cache.Cache;
import org.apache.ignite.IgniteCache;
import org.apache.ignite.cache.CacheAtomicityMode;
import org.apache.ignite.cache.query.QueryCursor;
import org.apache.ignite.cache.query.ScanQuery;
import org.autoglm.gossip.grid.GridCaches;
import org.autoglm.gossip.grid.GridNode;

/**
 * Files in the grid: metadata in one cache, the bytes in fixed-size chunks in another, both partitioned with a
 * backup (durable caches: on disk too with {@code --data-dir}). Chunks spread over the nodes, so no node holds a
 * whole file, and a file is written and read as a stream, never whole in one node's memory.
 */
public final class FileStore {

    /** Bytes per chunk: big enough that a 200 MB file is 200 grid entries, small enough to move quickly. */
    public static final int CHUNK_BYTES = 1 << 20;

    private final GridNode grid;
    private final IgniteCache<String, StoredFile> files;
    private final IgniteCache<String, byte[]> chunks;

    public FileStore(GridNode grid) {
        this.grid = grid;
        GridCaches.createAll(grid, GridCaches.durable(grid, GridCaches.FILES, CacheAtomicityMode.ATOMIC),
                GridCaches.durable(grid, GridCaches.FILE_CHUNKS, CacheAtomicityMode.ATOMIC));
        this.files = grid.ignite().cache(GridCaches.FILES);
        this.chunks = grid.ignite().cache(GridCaches.FILE_CHUNKS);
    }

    /**
     * Starts writing a file: bytes go to the grid chunk by chunk; {@link Writer#finish} publishes it. Writing the same
     * id again (a batch's output after its runner died) replaces the file.
     */
    public Writer create(String id, String owner, String filename, String purpose) {
        return new Writer(id, owner, filename, purpose);
    }

    /** Null when a file of {@code bytes} fits; else why it does not (the grid's memory for files is nearly full). */
    public String fullReason(long bytes) {
        return grid.durableFullReason(bytes);
    }

    /** The file, or null when there is none. */
    public StoredFile get(String id) {
        return files.get(id);
    }

    /** Every file, newest first (metadata only; a scan, for listings). */
    public List<StoredFile> list() {
        try (QueryCursor<Cache.Entry<String, StoredFile>> cursor = files.query(new ScanQuery<String, StoredFile>())) {
            return cursor.getAll().stream().map(Cache.Entry::getValue)
                    .sorted(Comparator.comparingLong(StoredFile::createdAt).reversed().thenComparing(StoredFile::id))
                    .toList();
        }
    }

    /** The file's bytes as a stream that fetches one chunk at a time. */
    public InputStream open(StoredFile file) {
        return new InputStream() {
            private int next;
            private byte[] chunk = new byte[0];
            private int pos;

            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                while (pos == chunk.length) {
                    if (next == file.chunks()) {
                        return -1;
                    }
                    byte[] c = chunks.get(chunkKey(file.id(), next++));
                    if (c == null) {
                        throw new IOException("file " + file.id() + " lost its chunk " + (next - 1)
                                + " (more nodes died than it has copies)");
                    }
                    chunk = c;
                    pos = 0;
                }
                int n = Math.min(len, chunk.length - pos);
                System.arraycopy(chunk, pos, b, off, n);
                pos += n;
                return n;
            }
        };
    }

    /** Removes a file and its chunks; false when there was none. */
    public boolean delete(String id) {
        StoredFile file = files.getAndRemove(id);
        if (file == null) {
            return false;
        }
        for (int i = 0; i < file.chunks(); i++) {
            chunks.remove(chunkKey(id, i));
        }
        return true;
    }

    private static String chunkKey(String id, int index) {
        return id + "/" + index;
    }

    /** Writes one file; counts its bytes and non-empty lines as they pass. */
    public final class Writer extends OutputStream {
        private final String id;
        private final String owner;
        private final String filename;
        private final String purpose;
        private final byte[] buffer = new byte[CHUNK_BYTES];
        private int filled;
        private int written;
        private long bytes;
        private int lines;
        private boolean lineHasContent;

        private Writer(String id, String owner, String filename, String purpose) {
            this.id = id;
            this.owner = owner;
            this.filename = filename;
            this.purpose = purpose;
        }

        @Override
        public void write(int b) {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b) {
            write(b, 0, b.length);
        }

        @Override
        public void write(byte[] b, int off, int len) {
            for (int i = off; i < off + len; i++) {
                if (b[i] == '\n') {
                    lines += lineHasContent ? 1 : 0;
                    lineHasContent = false;
                } else if (b[i] != '\r' && b[i] != ' ' && b[i] != '\t') {
                    lineHasContent = true;
                }
            }
            bytes += len;
            while (len > 0) {
                int n = Math.min(len, buffer.length - filled);
                System.arraycopy(b, off, buffer, filled, n);
                filled += n;
                off += n;
                len -= n;
                if (filled == buffer.length) {
                    flushChunk();
                }
            }
        }

        private void flushChunk() {
            chunks.put(chunkKey(id, written++), java.util.Arrays.copyOf(buffer, filled));
            filled = 0;
        }

        public long bytes() {
            return bytes;
        }

        /** Stores the last chunk and publishes the metadata: from here the file is listed. */
        public StoredFile finish() {
            if (filled > 0) {
                flushChunk();
            }
            StoredFile file = new StoredFile(id, owner, filename, purpose, bytes, System.currentTimeMillis() / 1000,
                    written, lines + (lineHasContent ? 1 : 0));
            StoredFile old = files.getAndPut(id, file);
            if (old != null) { // a rewrite that came out shorter leaves no stale chunks behind
                for (int i = written; i < old.chunks(); i++) {
                    chunks.remove(chunkKey(id, i));
                }
            }
            return file;
        }

        /** Gives up: removes the chunks written so far. */
        public void abandon() {
            for (int i = 0; i < written; i++) {
                chunks.remove(chunkKey(id, i));
            }
        }

        @Override
        public void close() {}
    }
}
