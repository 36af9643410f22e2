package org.autoglm.models.weights;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.autoglm.models.ModelLoadException;

/**
 * The weights of a Hugging Face checkpoint directory: {@code model.safetensors}, or the shards listed by
 * {@code model.safetensors.index.json}. Opening reads and checks only the headers; tensor data is memory-mapped
 * on demand, so the weights live once, in the page cache, however they are consumed.
 *
 * <p>Not thread-safe for {@link #close()}; reads may run concurrently.
 */
public final class Checkpoint implements AutoCloseable {

    public static final String SINGLE_FILE = "model.safetensors";
    public static final String INDEX_FILE = "model.safetensors.index.json";

    private final Path directory;
    private final List<SafetensorsFile> files;
    private final Map<String, SafetensorsFile.Entry> entries;
    private final Map<String, SafetensorsFile> fileOf;

    private Checkpoint(Path directory, List<SafetensorsFile> files) {
        this.directory = directory;
        this.files = files;
        Map<String, SafetensorsFile.Entry> all = new TreeMap<>();
        Map<String, SafetensorsFile> owner = new LinkedHashMap<>();
        for (SafetensorsFile file : files) {
            for (SafetensorsFile.Entry entry : file.entries().values()) {
                SafetensorsFile previous = owner.put(entry.info().name(), file);
                if (previous != null) {
                    throw new ModelLoadException("tensor " + entry.info().name() + " appears in both "
                            + previous.path() + " and " + file.path());
                }
                all.put(entry.info().name(), entry);
            }
        }
        this.entries = Collections.unmodifiableMap(all);
        this.fileOf = owner;
    }

    /** Opens the safetensors weights of {@code modelDir} (single file or sharded). */
    public static Checkpoint open(Path modelDir) {
        Path index = modelDir.resolve(INDEX_FILE);
        Path single = modelDir.resolve(SINGLE_FILE);
        if (Files.exists(index)) {
            return openSharded(modelDir, index);
        }
        if (Files.exists(single)) {
            return new Checkpoint(modelDir, List.of(SafetensorsFile.open(single)));
        }
        throw new ModelLoadException("no weights in " + modelDir + ": expected " + SINGLE_FILE + " or "
                + INDEX_FILE + " (PyTorch .bin checkpoints are not supported; convert them to safetensors)");
    }

    private static Checkpoint openSharded(Path modelDir, Path index) {
        Map<String, String> weightMap = readWeightMap(index);
        Map<String, SafetensorsFile> shards = new LinkedHashMap<>();
        try {
            for (String shardName : new java.util.TreeSet<>(weightMap.values())) {
                Path shard = modelDir.resolve(shardName).normalize();
                if (!shard.getParent().equals(modelDir.normalize())) {
                    throw new ModelLoadException(index + ": shard '" + shardName + "' is not a file in " + modelDir);
                }
                shards.put(shardName, SafetensorsFile.open(shard));
            }
            for (Map.Entry<String, String> e : weightMap.entrySet()) {
                SafetensorsFile shard = shards.get(e.getValue());
                if (!shard.entries().containsKey(e.getKey())) {
                    throw new ModelLoadException(index + " places tensor " + e.getKey() + " in " + e.getValue()
                            + ", but that file has no such tensor");
                }
            }
            return new Checkpoint(modelDir, new ArrayList<>(shards.values()));
        } catch (RuntimeException e) {
            shards.values().forEach(SafetensorsFile::close);
            throw e;
        }
    }

    private static Map<String, String> readWeightMap(Path index) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(index.toFile());
        } catch (IOException e) {
            throw new ModelLoadException(index + " is not valid JSON: " + e.getMessage(), e);
        }
        JsonNode map = root == null ? null : root.get("weight_map");
        if (map == null || !map.isObject() || map.isEmpty()) {
            throw new ModelLoadException(index + ": required field 'weight_map' is missing or empty");
        }
        Map<String, String> weightMap = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = map.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isTextual()) {
                throw new ModelLoadException(index + ": weight_map." + e.getKey() + " must be a file name");
            }
            weightMap.put(e.getKey(), e.getValue().asText());
        }
        return weightMap;
    }

    /** The checkpoint directory. */
    public Path directory() {
        return directory;
    }

    /** Every tensor, sorted by name. */
    public Collection<TensorInfo> tensors() {
        return entries.values().stream().map(SafetensorsFile.Entry::info).toList();
    }

    public boolean contains(String name) {
        return entries.containsKey(name);
    }

    /** The tensor called {@code name}; a {@link ModelLoadException} naming it when the checkpoint lacks it. */
    public TensorInfo info(String name) {
        return entry(name).info();
    }

    /** Checks that {@code name} exists with exactly {@code expectedShape}. */
    public TensorInfo info(String name, long... expectedShape) {
        TensorInfo info = info(name);
        if (!Arrays.equals(info.shape(), expectedShape)) {
            throw new ModelLoadException("tensor " + name + " in " + info.file() + " has shape "
                    + info.shapeString() + ", but the config needs " + Arrays.toString(expectedShape)
                    + " (does config.json belong to these weights?)");
        }
        return info;
    }

    /** The tensor's bytes as stored: a read-only, little-endian, memory-mapped view (no copy). At most 2 GiB. */
    public ByteBuffer raw(String name) {
        SafetensorsFile.Entry entry = entry(name);
        if (entry.byteLength() > Integer.MAX_VALUE) {
            throw new ModelLoadException("tensor " + name + " in " + entry.info().file() + " is "
                    + entry.byteLength() + " bytes; read it in parts with raw(name, offset, length)");
        }
        return raw(name, 0, (int) entry.byteLength());
    }

    /** {@code length} bytes of the tensor starting {@code byteOffset} bytes into it, memory-mapped. */
    public ByteBuffer raw(String name, long byteOffset, int length) {
        SafetensorsFile.Entry entry = entry(name);
        return fileOf.get(name).map(entry, byteOffset, length);
    }

    /**
     * The whole tensor widened to fp32 (F16 and BF16 are converted), after checking its shape. For tensors that
     * fit a Java array; larger ones are read in parts with {@link #readFloat32(String, long, FloatBuffer)}.
     */
    public float[] readFloat32(String name, long... expectedShape) {
        TensorInfo info = info(name, expectedShape);
        if (info.numel() > Integer.MAX_VALUE - 8) {
            throw new ModelLoadException("tensor " + name + " has " + info.numel()
                    + " elements, too many for one array");
        }
        float[] out = new float[(int) info.numel()];
        readFloat32(name, 0, FloatBuffer.wrap(out));
        return out;
    }

    /**
     * Widens {@code dst.remaining()} elements of the tensor, starting at element {@code firstElement}, into
     * {@code dst} (which may be a direct buffer shared with native memory). Reads through bounded mappings so
     * that tensors above 2 GiB work too.
     */
    public void readFloat32(String name, long firstElement, FloatBuffer dst) {
        SafetensorsFile.Entry entry = entry(name);
        DType dtype = entry.info().dtype();
        long count = dst.remaining();
        if (firstElement < 0 || firstElement + count > entry.info().numel()) {
            throw new IndexOutOfBoundsException("elements " + firstElement + ".." + (firstElement + count)
                    + " of " + entry.info());
        }
        long maxPerMap = (1L << 30) / dtype.bytes();
        for (long done = 0; done < count; ) {
            int n = (int) Math.min(maxPerMap, count - done);
            ByteBuffer src = raw(name, (firstElement + done) * dtype.bytes(), n * dtype.bytes());
            FloatConversions.widen(dtype, src, dst, n);
            done += n;
        }
    }

    /**
     * Whether the tensor's data starts at a file offset that is a multiple of {@code alignment}; mappings start
     * on page boundaries, so this is also the alignment of {@link #raw} buffers.
     */
    public boolean isAligned(String name, int alignment) {
        return entry(name).dataStart() % alignment == 0;
    }

    /** Bytes of tensor data in all files (what loading reads). */
    public long totalBytes() {
        long total = 0;
        for (SafetensorsFile.Entry e : entries.values()) {
            total += e.byteLength();
        }
        return total;
    }

    private SafetensorsFile.Entry entry(String name) {
        SafetensorsFile.Entry entry = entries.get(name);
        if (entry == null) {
            throw new ModelLoadException("tensor " + name + " is missing from " + describeFiles()
                    + " (is this a GLM checkpoint of the architecture config.json names?)");
        }
        return entry;
    }

    private String describeFiles() {
        if (files.size() == 1) {
            return files.get(0).path().toString();
        }
        return directory.resolve(INDEX_FILE) + " (" + files.size() + " shards)";
    }

    @Override
    public void close() {
        files.forEach(SafetensorsFile::close);
    }
}
