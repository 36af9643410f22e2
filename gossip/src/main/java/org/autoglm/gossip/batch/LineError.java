package org.autoglm.gossip.batch;

import java.io.Serializable;

/** One entry of a failed batch's {@code errors.data}: what is wrong with which input line (1-based). */
public final class LineError implements Serializable {

    private static final long serialVersionUID = 1L;

    private String code;
    private String message;
    private String param;
    private int line;

    private LineError() {}

    public LineError(String code, String message, String param, int line) {
        this.code = code;
        this.message = message;
        this.param = param;
        this.line = line;
    }

    public String code() { return code; }
    public String message() { return message; }
    /** The field at fault, or null. */
    public String param() { return param; }
    /** 1-based line number in the input file, or 0 when the error is about the whole file. */
    public int line() { return line; }
}
