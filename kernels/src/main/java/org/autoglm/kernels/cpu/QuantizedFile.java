package org.autoglm.kernels.cpu;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.autoglm.models.ModelLoadException;
import org.autoglm.models.weights.Checkpoint;
import org.autoglm.models.weights.LoadProgress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The linear weights of a checkpoint quantized to q8_0 or q4_0, in one file that later starts map directly:
 * {@code AGLMQNT1}, a little-endian long giving the JSON header's length, the header (the source safetensors files'
 * names, sizes and modification times, and each tensor's shape and offset), then each tensor's slabs, 64-byte aligned:
 * a slab's quants, then its fp16 block scales. A header that no longer matches the checkpoint (or the tensor list)
 * makes the file be written again. Written to a temporary name and renamed, so a crash never leaves a half file.
 */
final class QuantizedFile {

    private static final Logger LOG = LoggerFactory.getLogger(QuantizedFile.class);
    private static final byte[] MAGIC = "AGLMQNT1".getBytes(StandardCharsets.US_ASCII);
    private static final int VERSION = 1;
    private static final int ALIGN = 64;
    /** Rows quantized per work item. */
    private static final int ROWS_PER_ITEM = 64;

    private final FileChannel channel;
    private final Map<String, WeightMatrix> matrices;

    private QuantizedFile(FileChannel channel, Map<String, WeightMatrix> matrices) {
        this.channel = channel;
        this.matrices = matrices;
    }

    /**
     * The cache file for {@code type} of the checkpoint in {@code modelDir}: beside it when the directory is writable,
     * else under {@code cacheRoot} (default {@code ~/.cache/autoglm/cpu}) in a folder named after the checkpoint's path.
     */
    static Path location(Path modelDir, WeightType type, Path cacheRoot) {
        String fileName = "autoglm-cpu-" + type.ggmlName() + ".weights";
        if (cacheRoot == null && Files.isWritable(modelDir)) {
            return modelDir.resolve(fileName);
        }
        Path root = cacheRoot != null ? cacheRoot
                : Path.of(System.getProperty("user.home"), ".cache", "autoglm", "cpu");
        Path absolute = modelDir.toAbsolutePath().normalize();
        String folder = absolute.getFileName() + "-" + Integer.toHexString(absolute.toString().hashCode());
        return root.resolve(folder).resolve(fileName);
    }

    /** Maps {@code file}, first (re)writing it from {@code checkpoint} when it is missing or stale. */
    static QuantizedFile open(Path file, WeightType type, Checkpoint checkpoint, List<CpuWeights.LinearName> names,
                              WorkerPool pool) {
        ObjectNode expected = header(type, checkpoint, names);
        try {
            if (!matches(file, expected)) {
                write(file, type, checkpoint, names, expected, pool);
            }
            return map(file, type, names);
        } catch (IOException e) {
            throw new ModelLoadException("cannot write or read the " + type.ggmlName() + " weights at " + file
                    + ": " + e.getMessage() + " (the checkpoint directory or ~/.cache/autoglm must be writable)", e);
        }
    }

    WeightMatrix matrix(String name) {
        WeightMatrix m = matrices.get(name);
        if (m == null) throw new IllegalArgumentException("no quantized tensor " + name);
        return m;
    }

    void close() {
        try {
            channel.close();
        } catch (IOException e) {
            LOG.debug("closing quantized weights: {}", e.toString());
        }
    }

    private static ObjectNode header(WeightType type, Checkpoint checkpoint, List<CpuWeights.LinearName> names) {
        ObjectMapper json = new ObjectMapper();
        ObjectNode header = json.createObjectNode();
        header.put("version", VERSION);
        header.put("type", type.ggmlName());
        ArrayNode files = header.putArray("source");
        try (Stream<Path> list = Files.list(checkpoint.directory())) {
            for (Path p : list.filter(f -> f.getFileName().toString().endsWith(".safetensors")).sorted().toList()) {
                files.addObject().put("name", p.getFileName().toString()).put("size", Files.size(p))
                        .put("mtime", Files.getLastModifiedTime(p).toMillis());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        ArrayNode tensors = header.putArray("tensors");
        long offset = 0;
        for (CpuWeights.LinearName n : names) {
            tensors.addObject().put("name", n.name()).put("rows", n.rows()).put("cols", n.cols()).put("offset", offset);
            offset += tensorBytes(type, n.rows(), n.cols());
        }
        return header;
    }

    private static long align(long v) {
        return (v + ALIGN - 1) / ALIGN * ALIGN;
    }

    private static long slabBytes(WeightType type, int rows, int cols) {
        return align(align(rows * type.quantBytes(cols)) + rows * type.scaleBytes(cols));
    }

    private static long tensorBytes(WeightType type, int rows, int cols) {
        int perSlab = WeightMatrix.rowsPerSlab(type, rows, cols);
        int full = rows / perSlab;
        long bytes = full * slabBytes(type, perSlab, cols);
        if (rows % perSlab != 0) bytes += slabBytes(type, rows % perSlab, cols);
        return bytes;
    }

    private static boolean matches(Path file, ObjectNode expected) throws IOException {
        if (!Files.exists(file)) return false;
        JsonNode actual = readHeader(file);
        // compared as text: a parsed header holds small numbers as ints where the expected one holds longs
        if (actual == null || !actual.toString().equals(expected.toString())) {
            LOG.info("{} does not match the checkpoint: writing it again", file);
            return false;
        }
        return true;
    }

    private static JsonNode readHeader(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer prefix = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
            if (ch.read(prefix, 0) < 16) return null;
            byte[] magic = new byte[8];
            prefix.flip().get(magic);
            long length = prefix.getLong();
            if (!java.util.Arrays.equals(magic, MAGIC) || length <= 0 || length > 64 << 20) return null;
            ByteBuffer text = ByteBuffer.allocate((int) length);
            ch.read(text, 16);
            return new ObjectMapper().readTree(new String(text.array(), StandardCharsets.UTF_8));
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            return null;
        }
    }

    private static void write(Path file, WeightType type, Checkpoint checkpoint, List<CpuWeights.LinearName> names,
                              ObjectNode header, WorkerPool pool) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        Path temp = file.resolveSibling(file.getFileName() + ".tmp-" + ProcessHandle.current().pid());
        byte[] headerBytes = new ObjectMapper().writeValueAsBytes(header);
        long start = align(16 + headerBytes.length);
        long total = 0;
        for (CpuWeights.LinearName n : names) total += (long) n.rows() * n.cols();
        long began = System.nanoTime();
        try (FileChannel out = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE);
             LoadProgress progress = LoadProgress.start("Quantizing " + checkpoint.directory().getFileName() + " to "
                     + type.ggmlName(), total * 4)) {
            ByteBuffer prefix = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).put(MAGIC)
                    .putLong(headerBytes.length);
            out.write(prefix.flip(), 0);
            out.write(ByteBuffer.wrap(headerBytes), 16);
            int i = 0;
            for (CpuWeights.LinearName n : names) {
                long offset = start + header.get("tensors").get(i++).get("offset").asLong();
                quantizeTensor(out, offset, type, checkpoint, n, pool);
                progress.advance((long) n.rows() * n.cols() * 4);
            }
            out.force(false);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(temp);
            throw e;
        }
        Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        LOG.info("Quantized {} to {} in {} ms: {}", checkpoint.directory(), type.ggmlName(),
                (System.nanoTime() - began) / 1_000_000, file);
    }

    private static void quantizeTensor(FileChannel out, long offset, WeightType type, Checkpoint checkpoint,
                                       CpuWeights.LinearName n, WorkerPool pool) {
        checkpoint.info(n.name(), n.rows(), n.cols());
        int cols = n.cols();
        int perSlab = WeightMatrix.rowsPerSlab(type, n.rows(), cols);
        int items = (n.rows() + ROWS_PER_ITEM - 1) / ROWS_PER_ITEM;
        int quantBytes = (int) (ROWS_PER_ITEM * type.quantBytes(cols));
        int scaleBytes = (int) (ROWS_PER_ITEM * type.scaleBytes(cols));
        pool.forEach(items, 1, (from, to, scratch) -> {
            // each thread's own buffers, reused for every item: per-item arrays were ~0.2 GB of heap touched at load
            // that stayed resident (the 1.5B shape's first start at q8_0: 1.18x weights + KV, the next 1.06x)
            float[] rows = scratch.tile(ROWS_PER_ITEM * cols);
            ByteBuffer bytes = scratch.bytes(quantBytes + scaleBytes);
            ByteBuffer quants = bytes.slice(0, quantBytes);
            ByteBuffer scales = bytes.slice(quantBytes, scaleBytes).order(ByteOrder.LITTLE_ENDIAN);
            for (int item = from; item < to; item++) {
                int first = item * ROWS_PER_ITEM;
                int count = Math.min(ROWS_PER_ITEM, n.rows() - first);
                // a slab boundary never splits an item: perSlab is a multiple of ROWS_PER_ITEM or the whole tensor
                checkpoint.readFloat32(n.name(), (long) first * cols, FloatBuffer.wrap(rows, 0, count * cols));
                quants.clear();
                scales.clear();
                for (int r = 0; r < count; r++) {
                    Quantizer.quantizeRow(type, rows, r * cols, cols, quants, scales);
                }
                int slab = first / perSlab;
                int slabRows = Math.min(perSlab, n.rows() - slab * perSlab);
                long slabStart = offset + slab * slabBytes(type, perSlab, cols);
                int local = first - slab * perSlab;
                try {
                    out.write(quants.flip(), slabStart + local * type.quantBytes(cols));
                    out.write(scales.flip(), slabStart + align(slabRows * type.quantBytes(cols))
                            + local * type.scaleBytes(cols));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        });
    }

    private static QuantizedFile map(Path file, WeightType type, List<CpuWeights.LinearName> names) throws IOException {
        JsonNode header = readHeader(file);
        FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
        ByteBuffer prefix = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        ch.read(prefix, 0);
        long start = align(16 + prefix.getLong(8));
        Map<String, WeightMatrix> matrices = new HashMap<>();
        int i = 0;
        for (CpuWeights.LinearName n : names) {
            long offset = start + header.get("tensors").get(i++).get("offset").asLong();
            int perSlab = WeightMatrix.rowsPerSlab(type, n.rows(), n.cols());
            WeightMatrix.Slab[] slabs = new WeightMatrix.Slab[(n.rows() + perSlab - 1) / perSlab];
            for (int s = 0; s < slabs.length; s++) {
                int rows = Math.min(perSlab, n.rows() - s * perSlab);
                long slabStart = offset + s * slabBytes(type, perSlab, n.cols());
                long quantBytes = rows * type.quantBytes(n.cols());
                long scaleBytes = rows * type.scaleBytes(n.cols());
                slabs[s] = new WeightMatrix.Slab(
                        ch.map(FileChannel.MapMode.READ_ONLY, slabStart, quantBytes),
                        ch.map(FileChannel.MapMode.READ_ONLY, slabStart + align(quantBytes), scaleBytes));
            }
            matrices.put(n.name(), new WeightMatrix(type, n.rows(), n.cols(), perSlab, slabs));
        }
        return new QuantizedFile(ch, matrices);
    }
}
