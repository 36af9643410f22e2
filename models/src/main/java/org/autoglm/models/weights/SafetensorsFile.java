package org.autoglm.models.weights;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import org.autoglm.models.ModelLoadException;

/**
 * One {@code .safetensors} file: an 8-byte little-endian header length, a JSON header
 * ({@code name -> {dtype, shape, data_offsets}}) and the raw data. The header is checked completely on open
 * (every offset inside the file, sizes matching shapes) so that no later read can touch memory outside the
 * mapping: a corrupted file is an exception, never a crashed JVM.
 */
final class SafetensorsFile implements AutoCloseable {

    /** A header entry: where its bytes are, as absolute file offsets. */
    record Entry(TensorInfo info, long dataStart, long byteLength) {}

    /** Headers beyond this are not checkpoints (a 100k-tensor header is ~10 MB). */
    private static final long MAX_HEADER_BYTES = 100L << 20;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path path;
    private final FileChannel channel;
    private final long fileSize;
    private final Map<String, Entry> entries;

    private SafetensorsFile(Path path, FileChannel channel, long fileSize, Map<String, Entry> entries) {
        this.path = path;
        this.channel = channel;
        this.fileSize = fileSize;
        this.entries = entries;
    }

    static SafetensorsFile open(Path path) {
        FileChannel channel;
        try {
            channel = FileChannel.open(path, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new ModelLoadException(path + " not found");
        } catch (IOException e) {
            throw new ModelLoadException("cannot open " + path + ": " + e.getMessage(), e);
        }
        try {
            long size = channel.size();
            Map<String, Entry> entries = readHeader(path, channel, size);
            return new SafetensorsFile(path, channel, size, entries);
        } catch (IOException | RuntimeException e) {
            closeQuietly(channel);
            if (e instanceof ModelLoadException mle) {
                throw mle;
            }
            throw new ModelLoadException("cannot read " + path + ": " + e.getMessage(), e);
        }
    }

    private static Map<String, Entry> readHeader(Path path, FileChannel channel, long fileSize) throws IOException {
        if (fileSize < 8) {
            throw corrupt(path, "the file is " + fileSize + " bytes, too short for a header (truncated?)");
        }
        ByteBuffer lengthBytes = readFully(channel, 0, 8);
        long headerLength = lengthBytes.order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        if (headerLength <= 0 || headerLength > MAX_HEADER_BYTES || 8 + headerLength > fileSize) {
            throw corrupt(path, "header length " + headerLength + " does not fit the file of " + fileSize
                    + " bytes (truncated or not a safetensors file?)");
        }
        ByteBuffer headerBytes = readFully(channel, 8, (int) headerLength);
        JsonNode header;
        try {
            header = JSON.readTree(headerBytes.array());
        } catch (JsonProcessingException e) {
            throw corrupt(path, "the header is not valid JSON (" + e.getOriginalMessage() + ")");
        }
        if (header == null || !header.isObject()) {
            throw corrupt(path, "the header is not a JSON object");
        }
        long dataStart = 8 + headerLength;
        long dataSize = fileSize - dataStart;
        Map<String, Entry> entries = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> field = it.next();
            if (field.getKey().equals("__metadata__")) {
                continue;
            }
            Entry entry = parseEntry(path, field.getKey(), field.getValue(), dataStart, dataSize);
            entries.put(entry.info().name(), entry);
        }
        return entries;
    }

    private static Entry parseEntry(Path path, String name, JsonNode node, long dataStart, long dataSize) {
        JsonNode dtypeNode = node.get("dtype");
        JsonNode shapeNode = node.get("shape");
        JsonNode offsetsNode = node.get("data_offsets");
        if (dtypeNode == null || !dtypeNode.isTextual() || shapeNode == null || !shapeNode.isArray()
                || offsetsNode == null || !offsetsNode.isArray() || offsetsNode.size() != 2) {
            throw corrupt(path, "tensor " + name + " needs dtype, shape and data_offsets [begin, end] in the header");
        }
        DType dtype = DType.fromSafetensors(dtypeNode.asText());
        if (dtype == null) {
            throw corrupt(path, "tensor " + name + " has dtype " + dtypeNode.asText()
                    + ", which is not supported (F32, F16 or BF16)");
        }
        long[] shape = new long[shapeNode.size()];
        long numel = 1;
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = shapeNode.get(i);
            if (!d.isIntegralNumber() || !d.canConvertToLong() || d.longValue() < 0) {
                throw corrupt(path, "tensor " + name + " has a bad shape " + shapeNode);
            }
            shape[i] = d.longValue();
            numel = shape[i] == 0 || numel <= dataSize / shape[i] ? numel * shape[i] : Long.MAX_VALUE;
        }
        JsonNode b = offsetsNode.get(0);
        JsonNode e = offsetsNode.get(1);
        if (!b.isIntegralNumber() || !e.isIntegralNumber() || !b.canConvertToLong() || !e.canConvertToLong()) {
            throw corrupt(path, "tensor " + name + " has bad data_offsets " + offsetsNode);
        }
        long begin = b.longValue();
        long end = e.longValue();
        if (begin < 0 || end < begin || end > dataSize) {
            throw corrupt(path, "tensor " + name + " has data_offsets " + offsetsNode + " outside the "
                    + dataSize + " data bytes (truncated file?)");
        }
        if (numel > dataSize || end - begin != numel * dtype.bytes()) {
            throw corrupt(path, "tensor " + name + " has " + (end - begin) + " bytes but shape " + shapeNode
                    + " of " + dtype + " needs " + (numel > dataSize ? "more than the file has" : numel * dtype.bytes()));
        }
        return new Entry(new TensorInfo(name, dtype, shape, path), dataStart + begin, end - begin);
    }

    Path path() {
        return path;
    }

    Map<String, Entry> entries() {
        return entries;
    }

    /**
     * Maps {@code length} bytes of a tensor starting {@code offset} bytes into it: read-only, little-endian,
     * backed by the page cache (no copy).
     */
    ByteBuffer map(Entry entry, long offset, int length) {
        if (offset < 0 || length < 0 || offset + length > entry.byteLength()) {
            throw new IndexOutOfBoundsException("bytes " + offset + ".." + (offset + length) + " of "
                    + entry.info().name() + " (" + entry.byteLength() + " bytes)");
        }
        try {
            // A file that shrank since it was opened would fault on access (SIGBUS): refuse instead.
            if (channel.size() < fileSize) {
                throw new ModelLoadException(path + " shrank from " + fileSize + " to " + channel.size()
                        + " bytes while the model was loading");
            }
            ByteBuffer buffer = channel.map(FileChannel.MapMode.READ_ONLY, entry.dataStart() + offset, length);
            return buffer.order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException e) {
            throw new ModelLoadException("cannot map " + entry.info().name() + " from " + path + ": "
                    + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        closeQuietly(channel);
    }

    private static ByteBuffer readFully(FileChannel channel, long position, int length) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(length);
        while (buffer.hasRemaining()) {
            if (channel.read(buffer, position + buffer.position()) < 0) {
                throw new IOException("unexpected end of file");
            }
        }
        return buffer.flip();
    }

    private static ModelLoadException corrupt(Path path, String what) {
        return new ModelLoadException(path + " is not a valid safetensors file: " + what);
    }

    private static void closeQuietly(FileChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // nothing useful to do: the file was only read
        }
    }
}
