package org.autoglm.node.workflow;

import com.fasterxml.jackson.databind.JsonNode;
import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.interpret.Context;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import com.hubspot.jinjava.loader.ResourceLocator;
import com.hubspot.jinjava.tree.Node;
import java.nio.charset.Charset;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import jinjava.javax.el.CompositeELResolver;
import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;
import jinjava.javax.el.ListELResolver;
import jinjava.javax.el.MapELResolver;
import org.autoglm.node.api.JsonBody;

/**
 * Jinja expressions of workflow templates ({@code {{ params.ticket }}}, {@code {{ steps.classify.json.urgent }}},
 * {@code {{ item }}}), rendered by Jinjava in a sandbox: the data they see is plain maps, lists, strings, numbers and
 * booleans; no method may be called on anything (so no Java is reachable), templates cannot include files or define
 * macros, and a render is bounded in time, output size, list and range sizes.
 */
final class Expressions {

    /** Longest output of one render. */
    static final long MAX_OUTPUT_CHARS = 1 << 20;
    /** Longest time one render may take. */
    static final long MAX_RENDER_MILLIS = 2_000;

    private static final Pattern SINGLE_EXPRESSION = Pattern.compile("^\\s*\\{\\{(.*)}}\\s*$", Pattern.DOTALL);
    private static final ThreadLocal<Long> DEADLINE = new ThreadLocal<>();
    private static final Jinjava JINJAVA = create();

    private Expressions() {}

    /** An expression that does not parse, or failed while rendering. */
    static final class ExpressionException extends RuntimeException {
        ExpressionException(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * Renders {@code template} against {@code context} (plain maps, lists and scalars) to text.
     *
     * @throws ExpressionException naming the first error
     */
    static String render(String template, Map<String, Object> context) {
        return bounded(() -> {
            RenderResult result = JINJAVA.renderForResult(template, context);
            failOnErrors(result.getErrors());
            return result.getOutput();
        });
    }

    /**
     * Checks that {@code template} parses, rendering it against stand-in data: errors of the data (a missing key,
     * a wrong type) are left for the run; syntax errors, unknown tags and disabled features are reported.
     */
    static void check(String template, Map<String, Object> standIns) {
        bounded(() -> {
            RenderResult result = JINJAVA.renderForResult(template, standIns);
            for (TemplateError e : result.getErrors()) {
                if (e.getReason() == TemplateError.ErrorReason.SYNTAX_ERROR
                        || e.getReason() == TemplateError.ErrorReason.UNKNOWN
                        || e.getReason() == TemplateError.ErrorReason.DISABLED) {
                    String where = e.getLineno() > 0 ? " (line " + e.getLineno() + ")" : "";
                    throw new ExpressionException(e.getMessage() + where);
                }
            }
            return null;
        });
    }

    /**
     * The value of {@code template}: the object itself when it is exactly one {@code {{ expression }}} (a list stays a
     * list), else the rendered text.
     */
    static Object evaluate(String template, Map<String, Object> context) {
        Matcher single = SINGLE_EXPRESSION.matcher(template);
        if (!single.matches() || single.group(1).contains("{{") || single.group(1).contains("}}")) {
            return render(template, context);
        }
        return bounded(() -> {
            JinjavaInterpreter interpreter = JINJAVA.newInterpreter();
            context.forEach(interpreter.getContext()::put);
            JinjavaInterpreter.pushCurrent(interpreter);
            try {
                Object value = interpreter.resolveELExpression(single.group(1).trim(), 1);
                failOnErrors(interpreter.getErrorsCopy());
                return JsonBody.MAPPER.convertValue(value, Object.class);
            } finally {
                JinjavaInterpreter.popCurrent();
            }
        });
    }

    /** Runs {@code work} under the render deadline, any failure of it reported as an {@link ExpressionException}. */
    private static <T> T bounded(java.util.function.Supplier<T> work) {
        DEADLINE.set(System.currentTimeMillis() + MAX_RENDER_MILLIS);
        try {
            return work.get();
        } catch (ExpressionException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new ExpressionException(message(e));
        } finally {
            DEADLINE.remove();
        }
    }

    /** Jinja's truth of a condition's value: false, none, 0, "" and empty lists and maps are false (and "false"). */
    static boolean truthy(Object value) {
        if (value == null) {
            return false;
        }
        if (value instanceof Boolean b) {
            return b;
        }
        if (value instanceof Number n) {
            return n.doubleValue() != 0;
        }
        if (value instanceof java.util.Collection<?> c) {
            return !c.isEmpty();
        }
        if (value instanceof Map<?, ?> m) {
            return !m.isEmpty();
        }
        String s = value.toString().trim().toLowerCase(Locale.ROOT);
        return !(s.isEmpty() || s.equals("false") || s.equals("0") || s.equals("none") || s.equals("null")
                || s.equals("[]") || s.equals("{}"));
    }

    /** A condition ({@code when}): a bare expression or one in {@code {{ }}}. */
    static String asTemplate(String condition) {
        return condition.contains("{{") || condition.contains("{%") ? condition : "{{ " + condition + " }}";
    }

    /** Plain Java data (maps, lists, scalars) of a JSON tree, as expressions see it. */
    static Object data(JsonNode node) {
        return node == null ? null : JsonBody.MAPPER.convertValue(node, Object.class);
    }

    private static void failOnErrors(List<TemplateError> errors) {
        for (TemplateError e : errors) {
            if (e.getSeverity() == TemplateError.ErrorType.FATAL) {
                String where = e.getLineno() > 0 ? " (line " + e.getLineno() + ")" : "";
                throw new ExpressionException(e.getMessage() + where);
            }
        }
    }

    private static String message(Throwable e) {
        while (e.getCause() != null && e.getCause() != e) {
            e = e.getCause();
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }

    private static Jinjava create() {
        CompositeELResolver resolver = new CompositeELResolver();
        resolver.add(new NoMethods());
        resolver.add(new MapELResolver(true));
        resolver.add(new ListELResolver(true));
        resolver.add(new JinjavaParts());
        JinjavaConfig config = JinjavaConfig.newBuilder()
                .withElResolver(resolver)
                .withMaxOutputSize(MAX_OUTPUT_CHARS)
                .withMaxStringLength(MAX_OUTPUT_CHARS)
                .withMaxListSize(10_000)
                .withMaxMapSize(10_000)
                .withRangeLimit(1_000)
                .withMaxRenderDepth(5)
                .withEnableRecursiveMacroCalls(false)
                .withNestedInterpretationEnabled(false) // values that contain "{{" stay data
                .withDisabled(Map.of(
                        Context.Library.TAG, Set.of("include", "import", "from", "extends", "macro", "call", "block"),
                        Context.Library.FUNCTION, Set.of("unixtimestamp", "today", "now")))
                .withNodePreProcessor(Expressions::checkDeadline)
                .withLegacyOverrides(LegacyOverrides.newBuilder()
                        .withUsePyishObjectMapper(true)
                        .withKeepNullableLoopValues(true)
                        .withEvaluateMapKeys(true)
                        .withIterateOverMapKeys(true)
                        .withUseNaturalOperatorPrecedence(true)
                        .withParseWhitespaceControlStrictly(true)
                        .build())
                .build();
        Jinjava jinjava = new Jinjava(config);
        jinjava.setResourceLocator(new NoFiles());
        jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition("", "fail", Expressions.class, "fail",
                String.class));
        return jinjava;
    }

    /** {@code fail(message)}: a template stops a step on purpose. */
    public static String fail(String message) {
        throw new ExpressionException(message);
    }

    private static void checkDeadline(Node node, JinjavaInterpreter interpreter) {
        Long deadline = DEADLINE.get();
        if (deadline != null && System.currentTimeMillis() > deadline) {
            throw new ExpressionException("the expression ran longer than " + MAX_RENDER_MILLIS + " ms");
        }
    }

    /** Refuses every method call: expressions read data, they do not run code. */
    private static final class NoMethods extends ELResolver {
        @Override
        public Object invoke(ELContext context, Object base, Object method, Class<?>[] paramTypes, Object[] params) {
            if (JinjavaParts.isPart(base)) {
                return null; // a filter or test of Jinjava itself: JinjavaParts calls it
            }
            throw new ExpressionException("calling '" + method + "' is not allowed in a workflow expression; use"
                    + " filters ({{ x | upper }}) instead");
        }

        @Override
        public Object getValue(ELContext context, Object base, Object property) {
            return null;
        }

        @Override
        public Class<?> getType(ELContext context, Object base, Object property) {
            return null;
        }

        @Override
        public void setValue(ELContext context, Object base, Object property, Object value) {}

        @Override
        public boolean isReadOnly(ELContext context, Object base, Object property) {
            return true;
        }

        @Override
        public java.util.Iterator<java.beans.FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
            return null;
        }

        @Override
        public Class<?> getCommonPropertyType(ELContext context, Object base) {
            return null;
        }
    }

    /**
     * The Java objects of Jinjava itself that expressions may touch: {@code loop.index}, {@code loop.first}, ...
     * inside {@code for}, and the filters and tests that {@code x | upper} and {@code x is defined} call.
     */
    private static final class JinjavaParts extends jinjava.javax.el.BeanELResolver {
        JinjavaParts() {
            super(true);
        }

        static boolean isPart(Object base) {
            return base instanceof com.hubspot.jinjava.lib.filter.Filter
                    || base instanceof com.hubspot.jinjava.lib.exptest.ExpTest;
        }

        @Override
        public Object getValue(ELContext context, Object base, Object property) {
            return base instanceof com.hubspot.jinjava.util.ForLoop ? super.getValue(context, base, property) : null;
        }

        @Override
        public Object invoke(ELContext context, Object base, Object method, Class<?>[] types, Object[] params) {
            return isPart(base) ? super.invoke(context, base, method, types, params) : null;
        }
    }

    /** Templates read no files: include, import and extends have nothing to find. */
    private static final class NoFiles implements ResourceLocator {
        @Override
        public String getString(String fullName, Charset encoding, JinjavaInterpreter interpreter)
                throws java.io.IOException {
            throw new java.io.IOException("workflow expressions cannot read '" + fullName + "'");
        }
    }
}
