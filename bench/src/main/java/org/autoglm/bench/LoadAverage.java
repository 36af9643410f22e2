package org.autoglm.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The load average, printed next to figures measured on a machine shared with other work. */
final class LoadAverage {

    private LoadAverage() {}

    /** For example {@code "load average 9.35 9.54 12.14 on 2 cores"}. */
    static String now() {
        try {
            String[] fields = Files.readString(Path.of("/proc/loadavg")).split(" ");
            return "load average " + fields[0] + " " + fields[1] + " " + fields[2] + " on "
                    + Runtime.getRuntime().availableProcessors() + " cores";
        } catch (IOException e) {
            return "load average unknown";
        }
    }
}
