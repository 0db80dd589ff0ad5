package io.dubhub.pipeline;

import org.eclipse.microprofile.config.ConfigProvider;
import org.jboss.logging.Logger;

import java.util.Optional;

/**
 * Fault injection for the crash-matrix tests: with {@code HUB_FAULT_CRASH_AT=<point>} the process
 * halts (as {@code kill -9} would: no shutdown hooks, nothing flushed) the first time it reaches
 * that point. Unset in any real deployment; a hub started with it says so loudly.
 */
public final class CrashPoints {

    private static final Logger LOG = Logger.getLogger(CrashPoints.class);

    /** After a billable call's intent is in the ledger, before the call is made. */
    public static final String AFTER_INTENT = "after-intent";
    /** After a provider confirmed a create and the ledger recorded it. */
    public static final String AFTER_CREATE_RECORDED = "after-create-recorded";
    /** An output fully streamed into data/.work, not yet moved into the outbox. */
    public static final String MID_DOWNLOAD = "mid-download";
    /** Every output in the outbox, job.json not written yet. */
    public static final String BEFORE_MANIFEST = "before-manifest";
    /** job.json written, the ledger not yet told the job ended. */
    public static final String AFTER_MANIFEST = "after-manifest";

    private static volatile Optional<String> armed;

    private CrashPoints() {
    }

    public static void reached(String point) {
        Optional<String> at = armed;
        if (at == null) {
            at = ConfigProvider.getConfig().getOptionalValue("hub.fault.crash-at", String.class).filter(s -> !s.isBlank());
            armed = at;
            at.ifPresent(p -> LOG.warnf("FAULT INJECTION ARMED: this process halts at '%s' (hub.fault.crash-at); never set this in production", p));
        }
        if (at.isPresent() && at.get().equals(point)) {
            LOG.errorf("Fault injection: halting at %s", point);
            Runtime.getRuntime().halt(137);
        }
    }
}
