package org.autoglm.node.cli;

import picocli.CommandLine;

/**
 * Turns a failure the user caused (bad model directory, bad argument) into one line on stderr and exit code
 * 1, instead of a stack trace. Set {@code -Dautoglm.trace=true} to see the trace.
 */
final class OneLineErrors implements CommandLine.IExecutionExceptionHandler {

    @Override
    public int handleExecutionException(Exception e, CommandLine cli, CommandLine.ParseResult parsed) {
        if (Boolean.getBoolean("autoglm.trace")) {
            e.printStackTrace();
        }
        String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        cli.getErr().println("error: " + message.lines().findFirst().orElse(message));
        return 1;
    }
}
