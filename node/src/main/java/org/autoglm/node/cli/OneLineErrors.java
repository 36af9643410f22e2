package org.autoglm.node.cli;

import picocli.CommandLine;

/**
 * Turns a failure the user caused (bad model directory, bad argument) into one line on stderr and exit code
 * 1, instead of a stack trace. Set {@code -Dautoglm.trace=true} to see the trace. {@link Usage} does the same
 * for command-line mistakes (unknown option, value of the wrong type), which picocli would otherwise follow
 * with the whole usage text.
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

    /** Bad command line: one line naming the mistake and where help is, exit code 2 (picocli's usage code). */
    static final class Usage implements CommandLine.IParameterExceptionHandler {

        @Override
        public int handleParseException(CommandLine.ParameterException e, String[] args) {
            CommandLine cli = e.getCommandLine();
            String message = e.getMessage() == null ? "invalid command line" : e.getMessage();
            message = message.lines().findFirst().orElse(message).replaceFirst("^Error: ", "");
            cli.getErr().println("error: " + message
                    + " (see '" + cli.getCommandSpec().qualifiedName() + " --help')");
            return cli.getCommandSpec().exitCodeOnInvalidInput();
        }
    }
}
