package org.autoglm.models.weights;

import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * A progress bar on stderr while a large checkpoint loads (stdout is reserved for the CLI's JSON). Silent for
 * small checkpoints and when there is no terminal to draw on (pipes, CI, tests), so logs stay clean.
 */
public final class LoadProgress implements AutoCloseable {

    /** Below this a load takes well under a second: no bar. */
    public static final long MIN_BYTES_FOR_BAR = 512L << 20;

    private final ProgressBar bar;
    private long loadedBytes;

    private LoadProgress(ProgressBar bar) {
        this.bar = bar;
    }

    /** Starts a bar of {@code totalBytes} when worth showing, else a no-op tracker. */
    public static LoadProgress start(String task, long totalBytes) {
        boolean show = totalBytes >= MIN_BYTES_FOR_BAR && System.console() != null
                && !Boolean.getBoolean("autoglm.noProgress");
        if (!show) {
            return new LoadProgress(null);
        }
        ProgressBar bar = new ProgressBarBuilder()
                .setTaskName(task)
                .setInitialMax(totalBytes >> 20)
                .setUnit(" MiB", 1)
                .setStyle(ProgressBarStyle.ASCII)
                .setUpdateIntervalMillis(250)
                .build();
        return new LoadProgress(bar);
    }

    /** Records that {@code bytes} more have been loaded. */
    public void advance(long bytes) {
        loadedBytes += bytes;
        if (bar != null) {
            bar.stepTo(loadedBytes >> 20);
        }
    }

    @Override
    public void close() {
        if (bar != null) {
            bar.stepTo(bar.getMax());
            bar.close();
        }
    }
}
