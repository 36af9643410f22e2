package org.autoglm.gossip.batch;

import java.io.Serializable;

/**
 * The outcome of one batch line, stored under (batch, line) with put-if-absent: the first outcome written is the
 * only one, so a line re-run after its node died cannot appear twice. {@code json} is the whole output-file line.
 */
public final class LineResult implements Serializable {

    private static final long serialVersionUID = 1L;

    private boolean error;
    private String json;

    private LineResult() {}

    public LineResult(boolean error, String json) {
        this.error = error;
        this.json = json;
    }

    /** True when the line belongs in the error file (the request failed), false for the output file. */
    public boolean error() { return error; }
    /** The output or error file line, without its newline. */
    public String json() { return json; }
}
