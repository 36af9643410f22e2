package org.autoglm.gossip.grid;

import java.lang.management.LockInfo;
import java.lang.management.ManagementFactory;
import java.lang.management.MonitorInfo;
import java.lang.management.ThreadInfo;

/**
 * This process's threads as text, with whole stacks and the locks each holds and waits for ({@link ThreadInfo#toString}
 * cuts stacks at 8 frames): what a log shows when a stop or a rejoin waits longer than it may.
 */
public final class ThreadDump {

    private ThreadDump() {}

    /** Every live thread of this process. */
    public static String all() {
        StringBuilder out = new StringBuilder();
        for (ThreadInfo info : ManagementFactory.getThreadMXBean().dumpAllThreads(true, true)) {
            append(out, info);
        }
        return out.toString();
    }

    /** One thread, or a line saying it has ended. */
    public static String of(Thread thread) {
        ThreadInfo info = ManagementFactory.getThreadMXBean()
                .getThreadInfo(new long[] {thread.getId()}, true, true)[0];
        if (info == null) {
            return "\"" + thread.getName() + "\" has ended\n";
        }
        StringBuilder out = new StringBuilder();
        append(out, info);
        return out.toString();
    }

    private static void append(StringBuilder out, ThreadInfo info) {
        out.append('"').append(info.getThreadName()).append("\" ").append(info.getThreadState());
        if (info.getLockName() != null) {
            out.append(" on ").append(info.getLockName());
        }
        if (info.getLockOwnerName() != null) {
            out.append(" owned by \"").append(info.getLockOwnerName()).append('"');
        }
        out.append('\n');
        StackTraceElement[] stack = info.getStackTrace();
        MonitorInfo[] monitors = info.getLockedMonitors();
        for (int i = 0; i < stack.length; i++) {
            out.append("\tat ").append(stack[i]).append('\n');
            for (MonitorInfo monitor : monitors) {
                if (monitor.getLockedStackDepth() == i) {
                    out.append("\t- locked ").append(monitor).append('\n');
                }
            }
        }
        for (LockInfo lock : info.getLockedSynchronizers()) {
            out.append("\t- holds ").append(lock).append('\n');
        }
        out.append('\n');
    }
}
