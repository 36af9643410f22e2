package org.autoglm.models.weights;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes tensors in the safetensors format, as one file or as Hugging Face shards plus
 * {@code model.safetensors.index.json}. Values are produced in chunks by a {@link ValueSource}, so a
 * multi-GB random checkpoint is written without holding it in memory.
 *
 * <pre>{@code
 * new SafetensorsWriter()
 *     .add("model.norm.weight", DType.BF16, new long[] {64}, values)
 *     .writeFile(dir.resolve("model.safetensors"));
 * }</pre>
 */
public final class SafetensorsWriter {

    /** Produces a tensor's values in row-major order; called once, with increasing {@code start}. */
    @FunctionalInterface
    public interface ValueSource {
        void fill(long start, float[] out, int count);
    }

    private record Pending(String name, DType dtype, long[] shape, ValueSource values) {
        long numel() {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            return n;
        }

        long bytes() {
            return numel() * dtype.bytes();
        }
    }

    private static final int CHUNK = 1 << 16;
    private static final ObjectMapper JSON = new ObjectMapper();
    private final List<Pending> tensors = new ArrayList<>();

    /** Adds a tensor whose values are in {@code data} (row-major, length = product of shape). */
    public SafetensorsWriter add(String name, DType dtype, long[] shape, float[] data) {
        Pending p = new Pending(name, dtype, shape.clone(), (start, out, count) ->
                System.arraycopy(data, (int) start, out, 0, count));
        if (p.numel() != data.length) {
            throw new IllegalArgumentException(name + ": shape needs " + p.numel() + " values, got " + data.length);
        }
        tensors.add(p);
        return this;
    }

    /** Adds a tensor whose values are generated while writing. */
    public SafetensorsWriter add(String name, DType dtype, long[] shape, ValueSource values) {
        tensors.add(new Pending(name, dtype, shape.clone(), values));
        return this;
    }

    /** Writes every added tensor into one file. */
    public void writeFile(Path file) throws IOException {
        write(file, tensors);
    }

    /**
     * Writes the tensors into shards of at most {@code maxShardBytes} (a larger single tensor gets a shard of
     * its own) named {@code model-00001-of-0000N.safetensors}, plus the index with the weight map.
     */
    public void writeSharded(Path dir, long maxShardBytes) throws IOException {
        List<List<Pending>> shards = new ArrayList<>();
        List<Pending> current = new ArrayList<>();
        long currentBytes = 0;
        for (Pending t : tensors) {
            if (!current.isEmpty() && currentBytes + t.bytes() > maxShardBytes) {
                shards.add(current);
                current = new ArrayList<>();
                currentBytes = 0;
            }
            current.add(t);
            currentBytes += t.bytes();
        }
        if (!current.isEmpty()) {
            shards.add(current);
        }
        ObjectNode index = JSON.createObjectNode();
        long total = tensors.stream().mapToLong(Pending::bytes).sum();
        index.putObject("metadata").put("total_size", total);
        ObjectNode weightMap = index.putObject("weight_map");
        for (int i = 0; i < shards.size(); i++) {
            String name = String.format("model-%05d-of-%05d.safetensors", i + 1, shards.size());
            write(dir.resolve(name), shards.get(i));
            shards.get(i).forEach(t -> weightMap.put(t.name(), name));
        }
        Files.writeString(dir.resolve(Checkpoint.INDEX_FILE), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(index));
    }

    private static void write(Path file, List<Pending> tensors) throws IOException {
        ObjectNode header = JSON.createObjectNode();
        header.putObject("__metadata__").put("format", "pt");
        long offset = 0;
        for (Pending t : tensors) {
            ObjectNode entry = header.putObject(t.name());
            entry.put("dtype", t.dtype().name());
            ArrayNode shape = entry.putArray("shape");
            for (long d : t.shape()) {
                shape.add(d);
            }
            entry.putArray("data_offsets").add(offset).add(offset + t.bytes());
            offset += t.bytes();
        }
        byte[] json = JSON.writeValueAsBytes(header);
        int padded = (json.length + 7) / 8 * 8; // data starts 8-aligned, as Hugging Face writes it
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(json);
        while (head.hasRemaining()) {
            head.put((byte) ' ');
        }
        // Write beside the target and rename: a process that has the old file mapped keeps its pages intact.
        Path partial = file.resolveSibling(file.getFileName() + ".partial");
        try (FileChannel out = FileChannel.open(partial, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            writeFully(out, head.flip());
            ByteBuffer bytes = ByteBuffer.allocateDirect(CHUNK * 4).order(ByteOrder.LITTLE_ENDIAN);
            float[] values = new float[CHUNK];
            for (Pending t : tensors) {
                long numel = t.numel();
                for (long done = 0; done < numel; ) {
                    int n = (int) Math.min(CHUNK, numel - done);
                    t.values().fill(done, values, n);
                    bytes.clear();
                    encode(t.dtype(), values, n, bytes);
                    writeFully(out, bytes.flip());
                    done += n;
                }
            }
        }
        Files.move(partial, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private static void encode(DType dtype, float[] values, int n, ByteBuffer out) {
        switch (dtype) {
            case F32 -> {
                for (int i = 0; i < n; i++) {
                    out.putFloat(values[i]);
                }
            }
            case BF16 -> {
                for (int i = 0; i < n; i++) {
                    out.putShort(FloatConversions.floatToBf16(values[i]));
                }
            }
            case F16 -> {
                for (int i = 0; i < n; i++) {
                    out.putShort(FloatConversions.floatToF16(values[i]));
                }
            }
        }
    }

    private static void writeFully(FileChannel out, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            out.write(buffer);
        }
    }
}
