package org.autoglm.node.batch;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import org.autoglm.gossip.batch.FileStore;
import org.autoglm.gossip.batch.StoredFile;

/** Reads a batch input file from the grid line by line (a chunk at a time), skipping blank lines (batches, bulk workflow runs). */
public final class InputLines {

    /** Gets each non-blank line with its 1-based number in the file; returns false to stop early. */
    public interface Visitor {
        boolean visit(int number, String text) throws InterruptedException;
    }

    private InputLines() {}

    /** @return the number of the last line read */
    public static int forEach(FileStore files, StoredFile file, Visitor visitor) throws IOException, InterruptedException {
        int number = 0;
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(files.open(file), StandardCharsets.UTF_8))) {
            for (String line; (line = reader.readLine()) != null; ) {
                number++;
                if (!line.isBlank() && !visitor.visit(number, line)) {
                    break;
                }
            }
        }
        return number;
    }
}
