"""Writes a copy of the CPU kernels that runs on JDK 22 and later, for measuring them there (bench/cpu-jdk-ab.sh).

JDK 19 (JEP 426) removed the Vector API's ByteBuffer loads (fromByteBuffer) in favour of MemorySegment ones (final
in JDK 22), so the jar built for JDK 17 stops with NoSuchMethodError on JDK 19+ once a kernel runs. This makes the
smallest change that runs: every slab gets MemorySegments of its ByteBuffers (made once, when the slab is made), the
kernels take those and load with fromMemorySegment; nothing else changes. Classes compiled from the output with JDK
22+'s javac, put ahead of the jar on the class path, replace the jar's.

    python3 bench/cpu/jdk22_port.py KERNELS_SOURCE_DIR OUT_DIR
"""
import pathlib
import re
import sys

src, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)

# (file, old, new): each old text must be found
EDITS = [
    ("WeightMatrix.java", "record Slab(ByteBuffer data, ByteBuffer scales) {}",
     "record Slab(ByteBuffer data, ByteBuffer scales, MemorySegment dataSegment, MemorySegment scalesSegment) {\n"
     "        Slab(ByteBuffer data, ByteBuffer scales) {\n"
     "            this(data, scales, MemorySegment.ofBuffer(data), scales == null ? null : MemorySegment.ofBuffer(scales));\n"
     "        }\n    }"),
    ("RowDot.java", "f32(ByteBuffer d", "f32(MemorySegment d"),
    ("RowDot.java", "half(ByteBuffer d", "half(MemorySegment d"),
    ("RowDot.java", "q8(ByteBuffer d", "q8(MemorySegment d"),
    ("RowDot.java", "q4(ByteBuffer d", "q4(MemorySegment d"),
    ("RowDot.java", "f32(s.data(),", "f32(s.dataSegment(),"),
    ("RowDot.java", "half(s.data(),", "half(s.dataSegment(),"),
    ("RowDot.java", "q8(s.data(),", "q8(s.dataSegment(),"),
    ("RowDot.java", "q4(s.data(),", "q4(s.dataSegment(),"),
    ("QuantizedRowDot.java", "q8(ByteBuffer d", "q8(MemorySegment d"),
    ("QuantizedRowDot.java", "q4(ByteBuffer d", "q4(MemorySegment d"),
    ("QuantizedRowDot.java", "q8(s.data(),", "q8(s.dataSegment(),"),
    ("QuantizedRowDot.java", "q4(s.data(),", "q4(s.dataSegment(),"),
    ("QuantizedRowDot.java", "combinedScales(WeightType type, ByteBuffer scales,",
     "combinedScales(WeightType type, MemorySegment scales,"),
    ("QuantizedRowDot.java", "combinedScales(type, s.scales(),", "combinedScales(type, s.scalesSegment(),"),
    ("QuantizedRowDot.java", "scales.getShort(base + 2 * b)", "scales.get(ValueLayout.JAVA_SHORT_UNALIGNED, base + 2 * b)"),
    ("QuantizedRowDot.java", "d.get(base + j)", "d.get(ValueLayout.JAVA_BYTE, base + j)"),
    ("QuantizedRowDot.java", "d.get(base + b * 16 + j)", "d.get(ValueLayout.JAVA_BYTE, base + b * 16 + j)"),
    ("TileGemm.java", "ByteBuffer d = s.data();", "MemorySegment d = s.dataSegment();"),
    ("TileGemm.java", "widenHalf(ByteBuffer d", "widenHalf(MemorySegment d"),
    ("TileGemm.java", "widenQ8(ByteBuffer d", "widenQ8(MemorySegment d"),
    ("TileGemm.java", "widenQ4(ByteBuffer d", "widenQ4(MemorySegment d"),
    ("PairGemm.java", "q8(ByteBuffer d", "q8(MemorySegment d"),
    ("PairGemm.java", "q8(s.data(), r0", "q8(s.dataSegment(), r0"),
    # the embedding's row decode (not a hot path): a segment per call
    ("VectorKernels.java", "fromByteBuffer(F, data,", "fromByteBuffer(F, MemorySegment.ofBuffer(data),"),
]

files = sorted({f for f, _, _ in EDITS})
for name in files:
    text = (src / name).read_text()
    for f, old, new in EDITS:
        if f == name:
            if old not in text:
                sys.exit(f"{name}: '{old}' not found: the kernels changed, update this script")
            text = text.replace(old, new)
    text = re.sub(r"(\w+Vector)\.fromByteBuffer\(", r"\1.fromMemorySegment(", text)
    text = text.replace("import java.nio.ByteBuffer;",
                        "import java.lang.foreign.MemorySegment;\nimport java.lang.foreign.ValueLayout;\n"
                        "import java.nio.ByteBuffer;", 1)
    (out / name).write_text(text)
print(f"ported {len(files)} files to {out}")
