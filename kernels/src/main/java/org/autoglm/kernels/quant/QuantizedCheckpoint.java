package org.autoglm.kernels.quant;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.autoglm.kernels.WeightQuantization;
import org.autoglm.models.ModelLoadException;
import org.autoglm.models.weights.Checkpoint;
import org.autoglm.models.weights.LoadProgress;

/**
 * The CUDA backend's quantized linear weights, cached next to the checkpoint ({@code autoglm-cuda-fp8.weights} or
 * {@code -int8}; under {@code ~/.cache/autoglm/cuda} when the checkpoint's directory is read-only) so that only the
 * first start quantizes: {@code AGLMCQ81}, the JSON header's length (little-endian int), the header (kind, the
 * source safetensors files' names, sizes and modification times, each tensor's shape and offset), then per tensor
 * its bytes and its fp32 scales. A header that no longer matches makes the file be written again, to a temporary name
 * and renamed, so a crash never leaves a half file.
 */
public final class QuantizedCheckpoint {

    private static final byte[] MAGIC = "AGLMCQ81".getBytes(StandardCharsets.US_ASCII);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A tensor to quantize: its checkpoint name and [rows, cols]. */
    public record Tensor(String name, long[] shape) {}

    private final Path file;
    private final long dataStart;
    private final Map<String, long[]> index;   // name -> rows, cols, offset from dataStart

    private QuantizedCheckpoint(Path file, long dataStart, Map<String, long[]> index) {
        this.file = file;
        this.dataStart = dataStart;
        this.index = index;
    }

    /** Where the cache of {@code kind} for the checkpoint in {@code modelDir} lives. */
    public static Path location(Path modelDir, WeightQuantization kind) {
        String name = "autoglm-cuda-" + kind.flagName() + ".weights";
        if (Files.isWritable(modelDir)) return modelDir.resolve(name);
        Path absolute = modelDir.toAbsolutePath().normalize();
        return Path.of(System.getProperty("user.home"), ".cache", "autoglm", "cuda",
                absolute.getFileName() + "-" + Integer.toHexString(absolute.toString().hashCode())).resolve(name);
    }

    /** The cache for {@code tensors}, written first (quantizing them, with a progress bar) when missing or stale. */
    public static QuantizedCheckpoint open(Path file, WeightQuantization kind, Checkpoint ckpt, List<Tensor> tensors) {
        ObjectNode expected = header(kind, ckpt, tensors);
        try {
            if (!expected.equals(readHeader(file))) write(file, kind, ckpt, tensors, expected);
            Map<String, long[]> index = new LinkedHashMap<>();
            expected.get("tensors").fields().forEachRemaining(f -> index.put(f.getKey(), new long[] {
                    f.getValue().get(0).asLong(), f.getValue().get(1).asLong(), f.getValue().get(2).asLong()}));
            long dataStart;
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                ByteBuffer length = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
                ch.read(length, MAGIC.length);
                dataStart = MAGIC.length + 4L + length.getInt(0);
            }
            return new QuantizedCheckpoint(file, dataStart, index);
        } catch (IOException e) {
            throw new ModelLoadException("cannot write or read the " + kind.flagName() + " weights at " + file + ": "
                    + e.getMessage() + " (the checkpoint directory or ~/.cache/autoglm must be writable)", e);
        }
    }

    public Path file() {
        return file;
    }

    /** Tensor {@code name}'s bytes, then its scales ({@code rows × cols + 4 × rows} bytes), as the GPU layout wants. */
    public ByteBuffer read(String name) {
        long[] t = index.get(name);
        if (t == null) throw new IllegalArgumentException(name + " is not in " + file);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return ch.map(FileChannel.MapMode.READ_ONLY, dataStart + t[2], t[0] * t[1] + 4 * t[0])
                    .order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static ObjectNode header(WeightQuantization kind, Checkpoint ckpt, List<Tensor> tensors) {
        ObjectNode h = JSON.createObjectNode();
        h.put("kind", kind.flagName());
        ObjectNode sources = h.putObject("sources");
        try (Stream<Path> files = Files.list(ckpt.directory())) {
            for (Path f : files.filter(p -> p.toString().endsWith(".safetensors")).sorted().toList()) {
                sources.putArray(f.getFileName().toString()).add(Files.size(f))
                        .add(Files.getLastModifiedTime(f).toMillis());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        ObjectNode index = h.putObject("tensors");
        long offset = 0;
        for (Tensor t : tensors) {
            index.putArray(t.name()).add(t.shape()[0]).add(t.shape()[1]).add(offset);
            offset += t.shape()[0] * t.shape()[1] + 4 * t.shape()[0];
        }
        return h;
    }

    private static JsonNode readHeader(Path file) throws IOException {
        if (!Files.isRegularFile(file)) return null;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer head = ByteBuffer.allocate(MAGIC.length + 4).order(ByteOrder.LITTLE_ENDIAN);
            if (ch.read(head, 0) < head.capacity() || !head.flip().slice(0, MAGIC.length).equals(ByteBuffer.wrap(MAGIC))) {
                return null;
            }
            int length = head.getInt(MAGIC.length);
            if (length <= 0 || length > ch.size()) return null;
            ByteBuffer json = ByteBuffer.allocate(length);
            ch.read(json, MAGIC.length + 4);
            JsonNode h = JSON.readTree(new String(json.array(), StandardCharsets.UTF_8));
            return h.get("header");
        } catch (IOException | RuntimeException e) {
            return null;   // unreadable: written again
        }
    }

    /** The header's tensor offsets count from the end of the header block. */
    private static void write(Path file, WeightQuantization kind, Checkpoint ckpt, List<Tensor> tensors,
            ObjectNode expected) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        Path tmp = Files.createTempFile(file.toAbsolutePath().getParent(), file.getFileName().toString(), ".tmp");
        long total = tensors.stream().mapToLong(t -> t.shape()[0] * t.shape()[1]).sum();
        try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.WRITE);
                LoadProgress progress = LoadProgress.start("Quantizing the linear weights to " + kind.flagName(),
                        total)) {
            ObjectNode wrapper = JSON.createObjectNode();
            wrapper.set("header", expected);
            byte[] json = JSON.writeValueAsBytes(wrapper);
            long dataStart = MAGIC.length + 4 + json.length;
            ByteBuffer head = ByteBuffer.allocate((int) dataStart).order(ByteOrder.LITTLE_ENDIAN);
            head.put(MAGIC).putInt(json.length).put(json).flip();
            out.write(head, 0);
            long position = dataStart;
            for (Tensor t : tensors) {
                int rows = (int) t.shape()[0], cols = (int) t.shape()[1];
                ChannelQuantizer.Quantized q = ChannelQuantizer.quantize(kind, ckpt.readFloat32(t.name(), t.shape()),
                        rows, cols);
                ByteBuffer scales = ByteBuffer.allocate(4 * rows).order(ByteOrder.LITTLE_ENDIAN);
                scales.asFloatBuffer().put(q.scales());
                position += out.write(ByteBuffer.wrap(q.q()), position);
                position += out.write(scales, position);
                progress.advance((long) rows * cols);
            }
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
