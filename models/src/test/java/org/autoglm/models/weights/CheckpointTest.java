package org.autoglm.models.weights;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.autoglm.models.ModelLoadException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Safetensors reading and writing, and an error naming the file and tensor for every kind of bad input. */
class CheckpointTest {

    @TempDir
    Path dir;

    private static final float[] MATRIX = {1, -2, 0.5f, 3, 0.25f, -8}; // exactly representable in F16 and BF16
    private static final float[] VECTOR = {1.5f, -1, 0, 2};

    private Path writeSample(DType dtype) throws IOException {
        new SafetensorsWriter()
                .add("a.weight", dtype, new long[] {2, 3}, MATRIX)
                .add("b.bias", dtype, new long[] {4}, VECTOR)
                .writeFile(dir.resolve(Checkpoint.SINGLE_FILE));
        return dir.resolve(Checkpoint.SINGLE_FILE);
    }

    @Test
    void roundTripsEveryDtype() throws IOException {
        for (DType dtype : DType.values()) {
            writeSample(dtype);
            try (Checkpoint checkpoint = Checkpoint.open(dir)) {
                assertThat(checkpoint.tensors()).extracting(TensorInfo::name).containsExactly("a.weight", "b.bias");
                TensorInfo info = checkpoint.info("a.weight");
                assertThat(info.dtype()).isEqualTo(dtype);
                assertThat(info.shape()).containsExactly(2, 3);
                assertThat(info.numel()).isEqualTo(6);
                assertThat(checkpoint.readFloat32("a.weight", 2, 3)).containsExactly(MATRIX);
                assertThat(checkpoint.readFloat32("b.bias", 4)).containsExactly(VECTOR);
                assertThat(checkpoint.totalBytes()).isEqualTo(10L * dtype.bytes());
            }
        }
    }

    @Test
    void rawIsAReadOnlyLittleEndianMapping() throws IOException {
        writeSample(DType.F32);
        try (Checkpoint checkpoint = Checkpoint.open(dir)) {
            ByteBuffer raw = checkpoint.raw("a.weight");

            assertThat(raw.isDirect()).isTrue();
            assertThat(raw.isReadOnly()).isTrue();
            assertThat(raw.order()).isEqualTo(ByteOrder.LITTLE_ENDIAN);
            assertThat(raw.remaining()).isEqualTo(24);
            assertThat(raw.getFloat(4)).isEqualTo(-2f);
            assertThat(checkpoint.isAligned("a.weight", 8)).isTrue();
        }
    }

    @Test
    void readsShardedCheckpointsThroughTheIndex() throws IOException {
        SafetensorsWriter writer = new SafetensorsWriter();
        for (int i = 0; i < 5; i++) {
            writer.add("t" + i, DType.BF16, new long[] {4}, VECTOR);
        }
        writer.writeSharded(dir, 16); // two tensors (8 bytes each) per shard -> 3 shards

        try (Stream<Path> files = Files.list(dir); Checkpoint checkpoint = Checkpoint.open(dir)) {
            assertThat(files.map(p -> p.getFileName().toString()))
                    .contains("model-00001-of-00003.safetensors", "model-00003-of-00003.safetensors",
                            Checkpoint.INDEX_FILE);
            assertThat(checkpoint.tensors()).hasSize(5);
            assertThat(checkpoint.info("t4").file().getFileName().toString())
                    .isEqualTo("model-00003-of-00003.safetensors");
            assertThat(checkpoint.readFloat32("t4", 4)).containsExactly(VECTOR);
        }
    }

    @Test
    void missingTensorNamesTheTensorAndTheFile() throws IOException {
        Path file = writeSample(DType.F32);
        try (Checkpoint checkpoint = Checkpoint.open(dir)) {
            assertThatThrownBy(() -> checkpoint.info("lm_head.weight"))
                    .isInstanceOf(ModelLoadException.class)
                    .hasMessageContaining("tensor lm_head.weight is missing from " + file);
        }
    }

    @Test
    void wrongShapeNamesTheTensorAndBothShapes() throws IOException {
        writeSample(DType.F32);
        try (Checkpoint checkpoint = Checkpoint.open(dir)) {
            assertThatThrownBy(() -> checkpoint.readFloat32("a.weight", 3, 2))
                    .isInstanceOf(ModelLoadException.class)
                    .hasMessageContaining("a.weight")
                    .hasMessageContaining("has shape [2, 3], but the config needs [3, 2]");
        }
    }

    @Test
    void noWeightsAtAll() {
        assertThatThrownBy(() -> Checkpoint.open(dir))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("no weights in " + dir);
    }

    @Test
    void truncatedFiles() throws IOException {
        Path file = writeSample(DType.F32);
        byte[] bytes = Files.readAllBytes(file);

        Files.write(file, Arrays.copyOf(bytes, bytes.length - 4));
        assertThatThrownBy(() -> Checkpoint.open(dir))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining(file.toString())
                .hasMessageContaining("tensor b.bias has data_offsets")
                .hasMessageContaining("truncated");

        Files.write(file, Arrays.copyOf(bytes, 40));
        assertThatThrownBy(() -> Checkpoint.open(dir))
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("header length");

        Files.write(file, Arrays.copyOf(bytes, 5));
        assertThatThrownBy(() -> Checkpoint.open(dir))
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("too short for a header");
    }

    @Test
    void badHeaders() throws IOException {
        Path file = dir.resolve(Checkpoint.SINGLE_FILE);
        String valid = "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";

        writeRaw(file, valid.replace("}}", "}"), 8);
        assertThatThrownBy(() -> Checkpoint.open(dir))
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("not valid JSON");

        writeRaw(file, valid.replace("F32", "I64"), 8);
        assertThatThrownBy(() -> Checkpoint.open(dir))
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("tensor x has dtype I64");

        writeRaw(file, valid.replace("[0,8]", "[0,4096]"), 8);
        assertThatThrownBy(() -> Checkpoint.open(dir))
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("outside the 8 data bytes");

        writeRaw(file, valid.replace("[0,8]", "[4,0]"), 8);
        assertThatThrownBy(() -> Checkpoint.open(dir))
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("data_offsets");

        writeRaw(file, valid.replace("[2]", "[3]"), 8);
        assertThatThrownBy(() -> Checkpoint.open(dir))
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("shape [3] of F32 needs 12");

        writeRaw(file, valid.replace("[2]", "[4611686018427387904,4]"), 8);
        assertThatThrownBy(() -> Checkpoint.open(dir))
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("tensor x");

        writeRaw(file, "[1,2]", 8);
        assertThatThrownBy(() -> Checkpoint.open(dir))
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("not a JSON object");

        ByteBuffer hugeLength = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN).putLong(Long.MAX_VALUE);
        Files.write(file, hugeLength.array());
        assertThatThrownBy(() -> Checkpoint.open(dir))
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("header length");
    }

    @Test
    void brokenIndexes() throws IOException {
        writeSample(DType.F32);
        Path index = dir.resolve(Checkpoint.INDEX_FILE);

        Files.writeString(index, "{\"weight_map\": {\"a.weight\": \"model.safetensors\", \"c\": \"model.safetensors\"}}");
        assertThatThrownBy(() -> Checkpoint.open(dir))
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("places tensor c in model.safetensors");

        Files.writeString(index, "{\"weight_map\": {\"a.weight\": \"model-00002-of-00002.safetensors\"}}");
        assertThatThrownBy(() -> Checkpoint.open(dir))
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("model-00002-of-00002.safetensors not found");

        Files.writeString(index, "{\"weight_map\": {\"a.weight\": \"../model.safetensors\"}}");
        assertThatThrownBy(() -> Checkpoint.open(dir))
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("is not a file in");

        Files.writeString(index, "{\"metadata\": {}}");
        assertThatThrownBy(() -> Checkpoint.open(dir))
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("'weight_map' is missing");
    }

    /** Random damage to header and data: every outcome is a clean load or a ModelLoadException, never a crash. */
    @Test
    void corruptedFilesNeverEscapeAsAnythingButModelLoadException() throws IOException {
        Path file = writeSample(DType.BF16);
        byte[] original = Files.readAllBytes(file);
        SplittableRandom random = new SplittableRandom(11);
        int failures = 0;
        for (int round = 0; round < 300; round++) {
            byte[] damaged = original.clone();
            int flips = 1 + random.nextInt(4);
            for (int f = 0; f < flips; f++) {
                damaged[random.nextInt(damaged.length)] = (byte) random.nextInt(256);
            }
            if (random.nextInt(4) == 0) {
                damaged = Arrays.copyOf(damaged, random.nextInt(damaged.length));
            }
            Files.write(file, damaged);
            try (Checkpoint checkpoint = Checkpoint.open(dir)) {
                for (TensorInfo info : checkpoint.tensors()) {
                    checkpoint.readFloat32(info.name(), info.shape());
                }
            } catch (ModelLoadException expected) {
                failures++;
            }
        }
        assertThat(failures).as("damage is detected most of the time").isGreaterThan(100);
    }

    private static void writeRaw(Path file, String header, int dataBytes) throws IOException {
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer buffer = ByteBuffer.allocate(8 + json.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        buffer.putLong(json.length).put(json);
        Files.write(file, buffer.array());
    }
}
