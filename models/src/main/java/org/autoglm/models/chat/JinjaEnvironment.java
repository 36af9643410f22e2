package org.autoglm.models.chat;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.interpret.Context;
import com.hubspot.jinjava.interpret.InterpreterFactory;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.filter.Filter;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import com.hubspot.jinjava.lib.tag.Tag;
import com.hubspot.jinjava.objects.date.StrftimeFormatter;
import com.hubspot.jinjava.tree.Node;
import com.hubspot.jinjava.tree.TagNode;
import java.time.ZonedDateTime;
import java.util.List;
import java.util.Map;
import jinjava.javax.el.CompositeELResolver;

/**
 * A Jinjava engine set up to render chat templates as Hugging Face transformers' jinja2 environment does:
 * {@code trim_blocks} and {@code lstrip_blocks}, loop controls ({@code break} / {@code continue}),
 * Python semantics for dict literals, loops over maps and operator precedence, Python's string methods,
 * the globals {@code raise_exception} and {@code strftime_now}, {@code tojson} as Python's
 * {@code json.dumps} (non-ASCII kept, as transformers does) and the {@code {% generation %}} block of
 * transformers' assistant-mask extension (rendered as its content).
 */
final class JinjaEnvironment {

    private JinjaEnvironment() {}

    static Jinjava create() {
        CompositeELResolver resolver = new CompositeELResolver();
        resolver.add(new PythonStringMethods());
        resolver.add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_ONLY);
        JinjavaConfig config = JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                .withElResolver(resolver)
                .withMaxOutputSize(64L << 20) // a runaway template fails instead of exhausting the heap
                // Jinjava would otherwise re-render values that contain "{{": user text must stay data
                .withNestedInterpretationEnabled(false)
                .withInterperterFactory(new PythonPrintingInterpreterFactory())
                .withLegacyOverrides(LegacyOverrides.newBuilder()
                        .withUsePyishObjectMapper(true)
                        .withKeepNullableLoopValues(true)
                        .withEvaluateMapKeys(true)
                        .withIterateOverMapKeys(true)
                        .withUseNaturalOperatorPrecedence(true)
                        .withParseWhitespaceControlStrictly(true)
                        .withUseTrimmingForNotesAndExpressions(true)
                        .build())
                .build();
        Jinjava jinjava = new Jinjava(config);
        jinjava.getGlobalContext().registerFilter(new ToJsonFilter());
        jinjava.getGlobalContext().registerTag(new GenerationTag());
        jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition(
                "", "raise_exception", JinjaEnvironment.class, "raiseException", String.class));
        jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition(
                "", "strftime_now", JinjaEnvironment.class, "strftimeNow", String.class));
        return jinjava;
    }

    /** {@code raise_exception(message)}: the template rejects the conversation. */
    public static String raiseException(String message) {
        throw new TemplateRaisedException(message);
    }

    /** {@code strftime_now(format)}: the current local time in Python's strftime format. */
    public static String strftimeNow(String format) {
        return StrftimeFormatter.format(ZonedDateTime.now(), format);
    }

    /** {@code {% generation %}...{% endgeneration %}} marks assistant text for training masks; it renders its body. */
    static final class GenerationTag implements Tag {
        @Override
        public String getName() {
            return "generation";
        }

        @Override
        public String getEndTagName() {
            return "endgeneration";
        }

        @Override
        public String interpret(TagNode tagNode, JinjavaInterpreter interpreter) {
            StringBuilder out = new StringBuilder();
            for (Node child : tagNode.getChildren()) {
                out.append(child.render(interpreter).getValue());
            }
            return out.toString();
        }
    }

    /** Interpreters that print booleans as Python does ({@code True} / {@code False}). */
    static final class PythonPrintingInterpreterFactory implements InterpreterFactory {
        @Override
        public JinjavaInterpreter newInstance(JinjavaInterpreter original) {
            return new PythonPrintingInterpreter(original);
        }

        @Override
        public JinjavaInterpreter newInstance(Jinjava application, Context context, JinjavaConfig config) {
            return new PythonPrintingInterpreter(application, context, config);
        }
    }

    static final class PythonPrintingInterpreter extends JinjavaInterpreter {
        PythonPrintingInterpreter(JinjavaInterpreter original) {
            super(original);
        }

        PythonPrintingInterpreter(Jinjava application, Context context, JinjavaConfig config) {
            super(application, context, config);
        }

        @Override
        public String getAsString(Object object) {
            if (object instanceof Boolean b) {
                return b ? "True" : "False";
            }
            return super.getAsString(object);
        }
    }

    /** Carries a template's own error message out through Jinjava's error list. */
    static final class TemplateRaisedException extends RuntimeException {
        TemplateRaisedException(String message) {
            super(message);
        }
    }

    /** {@code tojson(ensure_ascii=False, indent=None, separators=None, sort_keys=False)}, as transformers defines it. */
    static final class ToJsonFilter implements Filter {
        @Override
        public String getName() {
            return "tojson";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            boolean ensureAscii = Boolean.TRUE.equals(kwargs.getOrDefault("ensure_ascii", false));
            Object indent = kwargs.getOrDefault("indent", args.length > 0 ? args[0] : null);
            Object separators = kwargs.get("separators");
            List<String> separatorPair = separators instanceof List<?> l && l.size() == 2
                    ? List.of(String.valueOf(l.get(0)), String.valueOf(l.get(1))) : null;
            boolean sortKeys = Boolean.TRUE.equals(kwargs.getOrDefault("sort_keys", false));
            return PythonJson.dumps(var, ensureAscii, indent, separatorPair, sortKeys);
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            return filter(var, interpreter, args, Map.of());
        }
    }
}
