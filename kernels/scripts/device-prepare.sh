#!/usr/bin/env bash
# Builds what kernels/scripts/device-check.sh needs on a GPU host into .device/cuda-check/ (git-ignored): a
# jlinked Java runtime (with java.desktop: Jinjava, which serve uses for chat templates, needs java.beans), the -Pcuda node jar (exploded and xz-compressed: jar + runtime must fit a 64 MiB transfer),
# the reference fixtures and the scripts. Copies the folder into each extra checkout named on the command line.
#   bash kernels/scripts/device-prepare.sh [/path/to/other/checkout ...]
# then on the GPU host, from the checkout root: bash .device/cuda-check/device-check.sh
set -eu
root=$(git rev-parse --show-toplevel)
cd "$root"
out=.device/cuda-check
fixtures=${AUTOGLM_FIXTURES:-$root/fixtures}
mkdir -p "$out"
mvn -o -q -pl node -am package -Pcuda -DskipTests
# java.desktop: Jinjava (the chat template) needs java.beans, which the plain device runtime lacks.
if [ ! -f "$out/jre.tgz" ]; then
  rm -rf /tmp/autoglm-jre && jlink --add-modules java.base,java.logging,java.management,java.naming,java.net.http,java.sql,jdk.unsupported,jdk.management,java.xml,jdk.crypto.ec,java.desktop \
    --strip-debug --no-man-pages --no-header-files --compress=2 --output /tmp/autoglm-jre/jre
  tar czf "$out/jre.tgz" -C /tmp/autoglm-jre jre
fi
rm -rf /tmp/autoglm-jar && mkdir -p /tmp/autoglm-jar
(cd /tmp/autoglm-jar && unzip -q "$root/node/target/autoglm-node-cuda.jar")
XZ_OPT="-6 -T2" tar cJf "$out/node-cuda.tar.xz" -C /tmp/autoglm-jar .
rm -rf "$out/fixtures" && cp -r "$fixtures" "$out/fixtures" && chmod -R u+w "$out/fixtures"
cp kernels/scripts/device-check.sh kernels/scripts/summarize.py kernels/scripts/hf_parity.py kernels/scripts/hf_bench.py kernels/scripts/compare_generate.py kernels/scripts/serve_check.py kernels/scripts/goals.py "$out/"
git rev-parse --short HEAD > "$out/commit.txt"
for extra in "$@"; do
  mkdir -p "$extra/.device" && rm -rf "$extra/.device/cuda-check" && cp -r "$out" "$extra/.device/"
done
du -sh "$out" "$out"/*
